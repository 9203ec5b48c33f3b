//! Glyph images of Chinese characters from real fonts: the GB2312 hanzi rasterised at 64×64
//! grey levels for every font face, all at one pixel scale and centred by their ink box.
//!
//! A glyph set on disk is a directory with `glyphs.u8` (N·64·64 bytes, row-major, 0 = paper,
//! 255 = ink) and `index.tsv` (one `character<TAB>face` line per image, in the same order).

use std::io::Write;
use std::path::{Path, PathBuf};

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use anyhow::{Context, bail};

/// Side of a glyph image.
pub const SIDE: usize = 64;

/// The font files of the Debian packages `fonts-noto-cjk`, `fonts-wqy-*`, `fonts-arphic-*`.
pub const SYSTEM_FONTS: [&str; 6] = [
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/arphic/ukai.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
];

/// Face names that are regional or monospaced duplicates of a face already taken.
const DUPLICATE_MARKS: [&str; 7] = [" TC", " JP", " KR", " HK", " TW", "Mono", "Sharp"];

/// The GB2312 hanzi in code order: level 1 (the 3,755 common ones) and, with `all`, level 2
/// (3,008 more, 6,763 in all).
pub fn gb2312_hanzi(all: bool) -> anyhow::Result<Vec<char>> {
    let last_row = if all { 0xF7u8 } else { 0xD7 };
    let mut chars = Vec::new();
    for hi in 0xB0..=last_row {
        for lo in 0xA1u8..=0xFE {
            // Row 55 (0xD7) holds 89 characters.
            if hi == 0xD7 && lo > 0xF9 {
                continue;
            }
            let bytes = [hi, lo];
            let (text, _, bad) = encoding_rs::GBK.decode(&bytes);
            let mut it = text.chars();
            match (it.next(), it.next(), bad) {
                (Some(c), None, false) => chars.push(c),
                _ => bail!("GB2312 code {hi:02X}{lo:02X} does not decode to one character"),
            }
        }
    }
    let expected = if all { 6763 } else { 3755 };
    if chars.len() != expected {
        bail!("decoded {} GB2312 hanzi, expected {expected}", chars.len());
    }
    Ok(chars)
}

/// One usable face of a font file.
pub struct Face {
    /// Its family name (e.g. `Noto Sans CJK SC`).
    pub name: String,
    /// The file's bytes.
    data: std::sync::Arc<Vec<u8>>,
    /// Index inside a collection.
    index: u32,
}

/// The faces of `paths` (TTF, OTF or TTC), leaving out regional and monospaced duplicates.
pub fn faces(paths: &[PathBuf]) -> anyhow::Result<Vec<Face>> {
    let mut out = Vec::new();
    for path in paths {
        let data = std::sync::Arc::new(
            std::fs::read(path).with_context(|| format!("reading font {}", path.display()))?,
        );
        let count = ttf_parser::fonts_in_collection(&data).unwrap_or(1);
        for index in 0..count {
            let face = ttf_parser::Face::parse(&data, index)
                .with_context(|| format!("{}: face {index} is not a font", path.display()))?;
            // The English family name when there is one (`Mono` and regional marks are in it).
            let families: Vec<ttf_parser::name::Name> = face
                .names()
                .into_iter()
                .filter(|n| n.name_id == ttf_parser::name_id::FAMILY && n.is_unicode())
                .collect();
            let name = families
                .iter()
                .filter(|n| n.language() == ttf_parser::Language::English_UnitedStates)
                .chain(&families)
                .find_map(|n| n.to_string())
                .unwrap_or_else(|| format!("{} #{index}", path.display()));
            if DUPLICATE_MARKS.iter().any(|m| name.contains(m))
                || out.iter().any(|f: &Face| f.name == name)
            {
                continue;
            }
            out.push(Face {
                name,
                data: data.clone(),
                index,
            });
        }
    }
    Ok(out)
}

impl Face {
    /// The 64×64 image of `c`, or `None` when the face has no glyph for it.
    pub fn render(&self, c: char) -> anyhow::Result<Option<Vec<u8>>> {
        let font = FontRef::try_from_slice_and_index(&self.data, self.index)
            .with_context(|| format!("{}: cannot read the face", self.name))?;
        let id = font.glyph_id(c);
        if id.0 == 0 {
            return Ok(None);
        }
        // One pixel scale for every face: the em square is 52 px, leaving a margin.
        let scale = PxScale::from(52.0);
        let glyph = id.with_scale_and_position(scale, point(0.0, font.as_scaled(scale).ascent()));
        let Some(outline) = font.outline_glyph(glyph) else {
            return Ok(None);
        };
        let bounds = outline.px_bounds();
        let (w, h) = (bounds.width(), bounds.height());
        let ox = ((SIDE as f32 - w) / 2.0).round() as i64;
        let oy = ((SIDE as f32 - h) / 2.0).round() as i64;
        let mut pixels = vec![0u8; SIDE * SIDE];
        outline.draw(|x, y, coverage| {
            let (x, y) = (i64::from(x) + ox, i64::from(y) + oy);
            if (0..SIDE as i64).contains(&x) && (0..SIDE as i64).contains(&y) {
                let p = &mut pixels[y as usize * SIDE + x as usize];
                *p = (*p).max((coverage.clamp(0.0, 1.0) * 255.0).round() as u8);
            }
        });
        Ok(Some(pixels))
    }
}

/// A glyph set being written: images and their index.
#[derive(Default)]
pub struct GlyphSet {
    /// `(character, face)` of every image.
    pub index: Vec<(char, String)>,
    /// All images, concatenated.
    pub pixels: Vec<u8>,
}

impl GlyphSet {
    /// Add one image.
    pub fn push(&mut self, c: char, face: &str, image: &[u8]) {
        self.index.push((c, face.to_string()));
        self.pixels.extend_from_slice(image);
    }

    /// Write `dir/glyphs.u8` and `dir/index.tsv` (each atomically).
    pub fn save(&self, dir: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let mut tsv = Vec::new();
        for (c, face) in &self.index {
            writeln!(tsv, "{c}\t{face}")?;
        }
        super::write_atomic(&dir.join("glyphs.u8"), &self.pixels)?;
        super::write_atomic(&dir.join("index.tsv"), &tsv)
    }

    /// Read a set written by [`save`](Self::save); sizes must agree.
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let pixels_path = dir.join("glyphs.u8");
        let index_path = dir.join("index.tsv");
        let pixels = std::fs::read(&pixels_path)
            .with_context(|| format!("reading {}", pixels_path.display()))?;
        let text = std::fs::read_to_string(&index_path)
            .with_context(|| format!("reading {}", index_path.display()))?;
        let mut index = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let mut parts = line.splitn(2, '\t');
            let (Some(c), Some(face)) = (parts.next(), parts.next()) else {
                bail!(
                    "{}:{}: expected `character<TAB>face`",
                    index_path.display(),
                    i + 1
                );
            };
            let mut chars = c.chars();
            let (Some(ch), None) = (chars.next(), chars.next()) else {
                bail!(
                    "{}:{}: `{c}` is not one character",
                    index_path.display(),
                    i + 1
                );
            };
            index.push((ch, face.to_string()));
        }
        if pixels.len() != index.len() * SIDE * SIDE {
            bail!(
                "{}: {} bytes for {} images of {SIDE}×{SIDE} in {}",
                pixels_path.display(),
                pixels.len(),
                index.len(),
                index_path.display()
            );
        }
        Ok(Self { index, pixels })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Image `i` as grey levels in [0, 1].
    pub fn image(&self, i: usize) -> Vec<f32> {
        self.pixels[i * SIDE * SIDE..(i + 1) * SIDE * SIDE]
            .iter()
            .map(|&p| f32::from(p) / 255.0)
            .collect()
    }
}

/// Write grey images of `SIDE`×`SIDE` as one PNG grid, `rows` rows of `cols` (ink dark on white,
/// a 2-pixel gutter). Missing cells stay white.
pub fn save_grid_png(path: &Path, images: &[Vec<u8>], cols: usize) -> anyhow::Result<()> {
    let cols = cols.max(1);
    let rows = images.len().div_ceil(cols).max(1);
    let gutter = 2;
    let (width, height) = (
        cols * (SIDE + gutter) + gutter,
        rows * (SIDE + gutter) + gutter,
    );
    let mut canvas = vec![255u8; width * height];
    for (i, image) in images.iter().enumerate() {
        let (x0, y0) = (
            gutter + (i % cols) * (SIDE + gutter),
            gutter + (i / cols) * (SIDE + gutter),
        );
        for y in 0..SIDE {
            for x in 0..SIDE {
                canvas[(y0 + y) * width + x0 + x] = 255 - image[y * SIDE + x];
            }
        }
    }
    let mut bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut bytes, width as u32, height as u32);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.write_header()?.write_image_data(&canvas)?;
    }
    super::write_atomic(path, &bytes)
}
