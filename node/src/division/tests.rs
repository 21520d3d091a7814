use super::*;

fn code(text: &str) -> DivisionCode {
    DivisionCode::parse(text).unwrap()
}

#[test]
fn the_whole_standard_is_shipped() {
    assert_eq!(all_of_kind(DivisionKind::Province).len(), 31);
    assert_eq!(all_of_kind(DivisionKind::City).len(), 342);
    assert_eq!(all_of_kind(DivisionKind::County).len(), 2978);
}

#[test]
fn parse_refuses_malformed_and_unknown_codes() {
    let cases = [
        ("320100", Ok(())),
        ("000000", Ok(())),
        ("32010", Err("Malformed")),
        ("32010a", Err("Malformed")),
        ("3201000", Err("Malformed")),
        ("329900", Err("Unknown")),
    ];
    for (text, expected) in cases {
        let parsed = DivisionCode::parse(text);
        match expected {
            Ok(()) => assert!(parsed.is_ok(), "{text}"),
            Err("Malformed") => {
                assert!(matches!(parsed, Err(DivisionError::Malformed(_))), "{text}")
            }
            Err(_) => assert!(matches!(parsed, Err(DivisionError::Unknown(_))), "{text}"),
        }
    }
}

#[test]
fn names_kinds_and_parents() {
    assert_eq!(code("320000").name_zh(), "江苏省");
    assert_eq!(code("320100").name_zh(), "南京市");
    assert_eq!(code("320100").kind(), DivisionKind::City);
    assert_eq!(code("320100").parent(), Some(code("320000")));
    assert_eq!(code("320000").parent(), Some(DivisionCode::nation()));
    assert_eq!(DivisionCode::nation().parent(), None);
    assert_eq!(code("320000").to_string(), "320000");
    assert_eq!(DivisionCode::nation().to_string(), "000000");
}

#[test]
fn containment_follows_the_table_not_digit_prefixes() {
    assert!(code("320000").contains(code("320100")));
    assert!(code("320000").contains(code("320102")));
    assert!(DivisionCode::nation().contains(code("320102")));
    assert!(code("320100").contains(code("320100")));
    assert!(!code("320100").contains(code("320000")));
    assert!(!code("320100").contains(code("320505")));
    assert!(!code("320500").contains(code("320102")));
    // Henan's directly administered county-level cities sit under 419000.
    let jiyuan = code("419001");
    assert!(code("410000").contains(jiyuan));
    assert_eq!(jiyuan.parent(), Some(code("419000")));
    // Dongguan has no counties: it is its own county-level division.
    let dongguan = code("441900");
    assert_eq!(dongguan.kind(), DivisionKind::City);
    assert!(all_of_kind(DivisionKind::County).contains(&dongguan));
    assert!(code("440000").contains(dongguan));
}

#[test]
fn children_and_path() {
    let jiangsu_cities = code("320000").children();
    assert_eq!(jiangsu_cities.len(), 13);
    assert!(jiangsu_cities.contains(&code("320500")));
    let path: Vec<String> = code("320102")
        .path_from_nation()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(path, ["000000", "320000", "320100", "320102"]);
}

#[test]
fn serde_round_trip_checks_existence() {
    let json = serde_json::to_string(&code("320500")).unwrap();
    assert_eq!(json, "\"320500\"");
    assert_eq!(
        serde_json::from_str::<DivisionCode>(&json).unwrap(),
        code("320500")
    );
    assert!(serde_json::from_str::<DivisionCode>("\"999999\"").is_err());
}
