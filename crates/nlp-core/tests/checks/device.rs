use nlp_core::Error;
use nlp_core::device::{available_devices, parse_device};

#[test]
fn parses_compiled_backends_and_names_missing_features() {
    assert!(
        available_devices().contains(&"flex"),
        "flex is the default backend"
    );
    assert!(parse_device("flex").is_ok());
    assert!(parse_device(" FLEX ").is_ok());
    if !cfg!(feature = "cuda") {
        let err = parse_device("cuda:1").unwrap_err();
        assert_eq!(
            err,
            Error::DeviceNotCompiled {
                name: "cuda:1".into(),
                feature: "cuda"
            }
        );
        assert!(err.to_string().contains("--features cuda"), "{err}");
    }
    assert!(matches!(parse_device("tpu"), Err(Error::UnknownDevice(_))));
    assert!(matches!(
        parse_device("cuda:x"),
        Err(Error::BadDeviceIndex(_))
    ));
    assert!(matches!(
        parse_device("flex:1"),
        Err(Error::BadDeviceIndex(_))
    ));
}
