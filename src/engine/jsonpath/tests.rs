use super::*;
use serde_json::json;

fn doc() -> Value {
    json!({
        "a": {"b": [1, 2, 3], "c": "x"},
        "items": [{"n": 1, "k": "p"}, {"n": 5, "k": "q"}, {"n": 9}],
        "Test\\\"\"Name\"": "v"
    })
}

#[test]
fn definite_paths_select_one_value() {
    assert_eq!(query("$", &doc()).unwrap(), doc());
    assert_eq!(query("$.a.c", &doc()).unwrap(), json!("x"));
    assert_eq!(query("$.a.b[1]", &doc()).unwrap(), json!(2));
    assert_eq!(query("$.a.b[-1]", &doc()).unwrap(), json!(3));
    assert_eq!(query("$['a']['c']", &doc()).unwrap(), json!("x"));
    assert_eq!(query("$[\"a\"].c", &doc()).unwrap(), json!("x"));
}

#[test]
fn bracket_names_keep_backslashes_as_aws_does() {
    assert_eq!(query("$['Test\\\"\"Name\"']", &doc()).unwrap(), json!("v"));
}

#[test]
fn missing_definite_path_reports_jayway_message() {
    let e = query("$.NoSuchInputPath", &doc()).unwrap_err();
    assert_eq!(e.to_string(), "No results for path: $['NoSuchInputPath']");
    let e = query("$.zz.y", &doc()).unwrap_err();
    assert_eq!(e.to_string(), "Missing property in path $['zz']");
    let e = query("$.a.b[7]", &doc()).unwrap_err();
    assert_eq!(e.to_string(), "No results for path: $['a']['b'][7]");
    assert!(matches!(
        query("$.a.c.d", &doc()),
        Err(PathError::NotFound(_))
    ));
}

#[test]
fn indefinite_paths_give_arrays() {
    assert_eq!(query("$.a.b[*]", &doc()).unwrap(), json!([1, 2, 3]));
    assert_eq!(query("$.a.b[1:]", &doc()).unwrap(), json!([2, 3]));
    assert_eq!(query("$.a.b[:2]", &doc()).unwrap(), json!([1, 2]));
    assert_eq!(query("$.a.b[-2:]", &doc()).unwrap(), json!([2, 3]));
    assert_eq!(query("$.a.b[0,2]", &doc()).unwrap(), json!([1, 3]));
    assert_eq!(query("$.items[*].n", &doc()).unwrap(), json!([1, 5, 9]));
    assert_eq!(query("$..n", &doc()).unwrap(), json!([1, 5, 9]));
    assert_eq!(query("$.nothing[*]", &doc()).unwrap(), json!([]));
    assert_eq!(query("$.a.b[5:]", &doc()).unwrap(), json!([]));
    assert_eq!(
        query("$.a['b','c']", &doc()).unwrap(),
        json!([[1, 2, 3], "x"])
    );
}

#[test]
fn filters_select_matching_elements() {
    assert_eq!(
        query("$.items[?(@.n > 1)].n", &doc()).unwrap(),
        json!([5, 9])
    );
    assert_eq!(
        query("$.items[?(@.k == 'q')].n", &doc()).unwrap(),
        json!([5])
    );
    assert_eq!(query("$.items[?(@.k)].n", &doc()).unwrap(), json!([1, 5]));
    assert_eq!(query("$.items[?(!@.k)].n", &doc()).unwrap(), json!([9]));
    assert_eq!(
        query("$.items[?(@.n > 1 && @.n < 9)].n", &doc()).unwrap(),
        json!([5])
    );
    assert_eq!(
        query("$.items[?(@.n == 1 || @.n == 9)].n", &doc()).unwrap(),
        json!([1, 9])
    );
    assert_eq!(
        query("$.items[?(@.n in [1, 5])].n", &doc()).unwrap(),
        json!([1, 5])
    );
}

#[test]
fn definiteness() {
    assert!(is_definite("$.a.b[0]"));
    assert!(is_definite("$"));
    assert!(!is_definite("$.a[*]"));
    assert!(!is_definite("$..a"));
    assert!(!is_definite("$.a[1:]"));
    assert!(!is_definite("not a path"));
}

#[test]
fn invalid_paths_are_rejected() {
    assert!(matches!(query("a.b", &doc()), Err(PathError::Invalid(_))));
    assert!(matches!(query("$.a[", &doc()), Err(PathError::Invalid(_))));
    assert!(matches!(query("$.a..", &doc()), Err(PathError::Invalid(_))));
    assert!(matches!(
        query("$.a.b.length()", &doc()),
        Err(PathError::Invalid(_))
    ));
    assert!(matches!(
        query("$.items[?(@.k =~ /p/)]", &doc()),
        Err(PathError::Invalid(_))
    ));
}

#[test]
fn set_creates_intermediate_objects() {
    let out = set(json!({"x": 1}), "$.r.s", json!(2)).unwrap();
    assert_eq!(out, json!({"x": 1, "r": {"s": 2}}));
    assert_eq!(set(json!({"x": 1}), "$", json!(7)).unwrap(), json!(7));
    let out = set(json!({"a": [1, 2]}), "$.a[1]", json!(9)).unwrap();
    assert_eq!(out, json!({"a": [1, 9]}));
    let out = set(json!({"x": 1}), "$.x", json!({"y": 2})).unwrap();
    assert_eq!(out, json!({"x": {"y": 2}}));
}

#[test]
fn set_through_a_scalar_fails() {
    let e = set(json!({"a": "text"}), "$.a.b", json!(1)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Unable to apply step \"b\" to input \"text\""
    );
    assert!(set(json!("s"), "$.a", json!(1)).is_err());
    assert!(matches!(
        set(json!({}), "$.a[*]", json!(1)),
        Err(PathError::Invalid(_))
    ));
}

#[test]
fn compiled_paths_are_cached() {
    let a = compile("$.cached.path").unwrap();
    let b = compile("$.cached.path").unwrap();
    assert!(Arc::ptr_eq(&a, &b));
}

#[test]
fn filter_on_an_object_tests_the_object_itself() {
    let d = json!({"o": {"x": 2}});
    assert_eq!(query("$.o[?(@.x == 2)]", &d).unwrap(), json!([{"x": 2}]));
    assert_eq!(query("$.o[?(@.x == 3)]", &d).unwrap(), json!([]));
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Arbitrary path text never panics the parser or evaluator.
        #[test]
        fn any_path_text_is_handled(text in "\\$[a-z0-9.\\[\\]*:?@()'\"=<>!&| ,-]{0,24}") {
            let _ = query(&text, &doc());
            let _ = is_definite(&text);
            let _ = set(doc(), &text, json!(1));
        }

        /// Setting a value at a path of names and reading it back gives the value.
        #[test]
        fn set_then_query_round_trips(names in proptest::collection::vec("[a-z]{1,5}", 1..5), n in any::<i64>()) {
            let path = format!("$.{}", names.join("."));
            let out = set(json!({}), &path, json!(n)).unwrap();
            prop_assert_eq!(query(&path, &out).unwrap(), json!(n));
        }
    }
}

#[test]
fn deep_scan_filter_reports_each_match_once() {
    let d = json!({"a": [{"p": 20}, {"p": 5}], "b": {"p": 30}});
    assert_eq!(
        query("$..[?(@.p > 10)]", &d).unwrap(),
        json!([{"p": 20}, {"p": 30}])
    );
    assert_eq!(query("$..a[?(@.p > 10)]", &d).unwrap(), json!([{"p": 20}]));
}
