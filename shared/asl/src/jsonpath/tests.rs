use super::*;
use crate::context::StaticScope;
use serde_json::json;

fn sel(path: &str, input: &Value) -> Option<Value> {
    JsonPath::parse(path)
        .unwrap()
        .select(input, &StaticScope::default())
}

fn store() -> Value {
    json!({
        "store": {
            "book": [
                {"category": "reference", "author": "Nigel Rees", "title": "Sayings", "price": 8.95},
                {"category": "fiction", "author": "Evelyn Waugh", "title": "Sword", "price": 12.99},
                {"category": "fiction", "author": "Herman Melville", "title": "Moby Dick", "isbn": "0-553", "price": 8.99},
                {"category": "fiction", "author": "Tolkien", "title": "LOTR", "isbn": "0-395", "price": 22.99}
            ],
            "bicycle": {"color": "red", "price": 19.95}
        },
        "expensive": 10
    })
}

#[test]
fn dollar_alone_selects_the_whole_input() {
    assert_eq!(sel("$", &json!({"a": 1})), Some(json!({"a": 1})));
}

#[test]
fn dotted_and_bracketed_names_select_the_same_node() {
    let input = json!({"a": {"b-c": {"d": 1}}});
    assert_eq!(sel("$.a.b-c.d", &input), Some(json!(1)));
    assert_eq!(sel("$['a'][\"b-c\"]['d']", &input), Some(json!(1)));
    assert_eq!(sel("$.a['b-c'].d", &input), Some(json!(1)));
}

#[test]
fn missing_definite_path_is_none() {
    let input = json!({"a": {"b": null}});
    assert_eq!(sel("$.x", &input), None);
    assert_eq!(sel("$.a.b", &input), Some(Value::Null));
    assert_eq!(sel("$.a.b.c", &input), None);
    assert_eq!(sel("$.a[0]", &input), None);
}

#[test]
fn array_index_and_negative_index() {
    let input = json!({"items": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]});
    assert_eq!(sel("$.items[10]", &input), Some(json!(10)));
    assert_eq!(sel("$.items[-1]", &input), Some(json!(10)));
    assert_eq!(sel("$.items[-11]", &input), Some(json!(0)));
    assert_eq!(sel("$.items[11]", &input), None);
    assert_eq!(sel("$.items[-12]", &input), None);
}

#[test]
fn slices_follow_python_bounds() {
    let input = json!({"a": [0, 1, 2, 3, 4, 5]});
    assert_eq!(sel("$.a[1:]", &input), Some(json!([1, 2, 3, 4, 5])));
    assert_eq!(sel("$.a[:2]", &input), Some(json!([0, 1])));
    assert_eq!(sel("$.a[-2:]", &input), Some(json!([4, 5])));
    assert_eq!(sel("$.a[1:3]", &input), Some(json!([1, 2])));
    assert_eq!(sel("$.a[0:5:2]", &input), Some(json!([0, 2, 4])));
    assert_eq!(sel("$.a[4:2]", &input), Some(json!([])));
    assert_eq!(sel("$.a[2:100]", &input), Some(json!([2, 3, 4, 5])));
}

/// Conformance: base.json_path_array_wildcard_or_slice_with_no_input*.
#[test]
fn indefinite_paths_on_missing_input_give_empty_array() {
    let empty = json!({});
    for p in [
        "$.item.items[1:]",
        "$.items[:1].itemValue",
        "$.items[1:]",
        "$.items[*]",
        "$.items[*].itemValue",
        "$[*]",
    ] {
        assert_eq!(sel(p, &empty), Some(json!([])), "{p}");
    }
}

#[test]
fn wildcards_on_arrays_and_objects() {
    let input = json!({"o": {"x": 1, "y": 2}, "a": [{"v": 1}, {"w": 2}, {"v": 3}]});
    assert_eq!(sel("$.o.*", &input), Some(json!([1, 2])));
    assert_eq!(sel("$.o[*]", &input), Some(json!([1, 2])));
    assert_eq!(sel("$.a[*].v", &input), Some(json!([1, 3])));
}

#[test]
fn unions_of_indexes_and_names() {
    let input = json!({"a": [10, 11, 12], "o": {"x": 1, "y": 2, "z": 3}});
    assert_eq!(sel("$.a[0,2]", &input), Some(json!([10, 12])));
    // Jayway merges a multi-name leaf into one object.
    assert_eq!(
        sel("$.o['z','x','nope']", &input),
        Some(json!({"z": 3, "x": 1}))
    );
    assert!(JsonPath::parse("$.o['x','y']").unwrap().is_definite());
}

#[test]
fn recursive_descent_finds_every_match() {
    assert_eq!(
        sel("$..author", &store()),
        Some(json!([
            "Nigel Rees",
            "Evelyn Waugh",
            "Herman Melville",
            "Tolkien"
        ]))
    );
    assert_eq!(
        sel("$.store..price", &store()),
        Some(json!([8.95, 12.99, 8.99, 22.99, 19.95]))
    );
    assert_eq!(sel("$..book[-1].title", &store()), Some(json!(["LOTR"])));
}

#[test]
fn filters_compare_numbers_strings_and_combine() {
    let s = store();
    assert_eq!(
        sel("$.store.book[?(@.price < 10)].title", &s),
        Some(json!(["Sayings", "Moby Dick"]))
    );
    assert_eq!(
        sel("$.store.book[?(@.price <= 8.99)].title", &s),
        Some(json!(["Sayings", "Moby Dick"]))
    );
    assert_eq!(
        sel("$.store.book[?(@.price > $.expensive)].title", &s),
        Some(json!(["Sword", "LOTR"]))
    );
    assert_eq!(
        sel(
            "$.store.book[?(@.category == 'fiction' && @.price < 20)].title",
            &s
        ),
        Some(json!(["Sword", "Moby Dick"]))
    );
    assert_eq!(
        sel(
            "$.store.book[?(@.category == \"reference\" || @.price >= 22.99)].title",
            &s
        ),
        Some(json!(["Sayings", "LOTR"]))
    );
    assert_eq!(
        sel("$.store.book[?(@.isbn)].title", &s),
        Some(json!(["Moby Dick", "LOTR"]))
    );
    assert_eq!(
        sel("$.store.book[?(!@.isbn)].title", &s),
        Some(json!(["Sayings", "Sword"]))
    );
    assert_eq!(
        sel("$.store.book[?(@.author =~ /.*REES/i)].title", &s),
        Some(json!(["Sayings"]))
    );
    assert_eq!(
        sel("$.store.book[?(@.category != 'fiction')].title", &s),
        Some(json!(["Sayings"]))
    );
}

/// Conformance: base.state_pass_regex_json_path_base.
#[test]
fn filter_equality_on_integer_status() {
    let input = json!({"users": [{"year": 1997, "status": 0}, {"year": 1998, "status": 1}]});
    assert_eq!(
        sel("$.users[?(@.status == 0)]", &input),
        Some(json!([{"year": 1997, "status": 0}]))
    );
}

#[test]
fn filter_literals_bool_and_null() {
    let input = json!([{"a": true}, {"a": null}, {"a": false}, {"b": 1}]);
    assert_eq!(sel("$[?(@.a == true)]", &input), Some(json!([{"a": true}])));
    assert_eq!(sel("$[?(@.a == null)]", &input), Some(json!([{"a": null}])));
    assert_eq!(
        sel("$[?(@.a)]", &input),
        Some(json!([{"a": true}, {"a": null}, {"a": false}]))
    );
    assert_eq!(
        sel("$[?(@.a != false)]", &input),
        Some(json!([{"a": true}, {"a": null}, {"b": 1}]))
    );
}

#[test]
fn length_function_counts_elements() {
    let input = json!({"a": [1, 2, 3], "s": "héllo"});
    assert_eq!(sel("$.a.length()", &input), Some(json!(3)));
    assert_eq!(sel("$.s.length()", &input), Some(json!(5)));
    assert_eq!(
        sel("$[?(@.length() > 2)]", &json!([[1], [1, 2, 3]])),
        Some(json!([[1, 2, 3]]))
    );
}

/// Conformance: scenarios/base_scenarios.escape_sequence_parsing--ESCAPE_SEQUENCES_JSONPATH.
#[test]
fn quoted_names_are_taken_verbatim() {
    let input = json!({"Test\\\"\"Name\"": "Value\"\\"});
    assert_eq!(
        sel("$['Test\\\"\"Name\"']", &input),
        Some(json!("Value\"\\"))
    );
}

#[test]
fn context_and_variable_roots_read_the_scope() {
    let mut scope = StaticScope {
        context: json!({"Execution": {"Id": "arn:x"}}),
        ..Default::default()
    };
    scope
        .variables
        .insert("cfg".into(), json!({"limit": 3, "list": [1, 2]}));
    let p = JsonPath::parse("$$.Execution.Id").unwrap();
    assert_eq!(p.root(), Root::Context);
    assert_eq!(p.select(&json!({}), &scope), Some(json!("arn:x")));
    let v = JsonPath::parse("$cfg.limit").unwrap();
    assert_eq!(v.root(), Root::Variable("cfg".into()));
    assert_eq!(v.select(&json!({}), &scope), Some(json!(3)));
    assert_eq!(
        JsonPath::parse("$cfg").unwrap().select(&json!({}), &scope),
        Some(json!({"limit": 3, "list": [1, 2]}))
    );
    assert_eq!(
        JsonPath::parse("$cfg.list[*]")
            .unwrap()
            .select(&json!({}), &scope),
        Some(json!([1, 2]))
    );
    assert_eq!(
        JsonPath::parse("$nope").unwrap().select(&json!({}), &scope),
        None
    );
    assert_eq!(
        JsonPath::parse("$$").unwrap().select(&json!({}), &scope),
        Some(scope.context.clone())
    );
}

#[test]
fn select_in_borrows_definite_results() {
    let input = json!({"a": {"b": [1, 2]}});
    let p = JsonPath::parse("$.a.b").unwrap();
    assert!(matches!(p.select_in(&input), Some(Cow::Borrowed(_))));
}

#[test]
fn normalized_form_matches_jayway() {
    let n = |p: &str| JsonPath::parse(p).unwrap().normalized();
    assert_eq!(n("$.NoSuchInputPath"), "$['NoSuchInputPath']");
    assert_eq!(n("$.a['b'][0]"), "$['a']['b'][0]");
    assert_eq!(n("$.a[*].b"), "$['a'][*]['b']");
    assert_eq!(n("$..b[1:]"), "$..['b'][1:]");
    assert_eq!(n("$"), "$");
    assert_eq!(
        JsonPath::parse("$.NoSuchInputPath")
            .unwrap()
            .no_results_message(),
        "Invalid path '$.NoSuchInputPath' : No results for path: $['NoSuchInputPath']"
    );
}

#[test]
fn definiteness_and_reference_paths() {
    let p = |s: &str| JsonPath::parse(s).unwrap();
    assert!(p("$.a.b[0]").is_definite());
    assert!(p("$.a.b[-1]").is_definite());
    for s in [
        "$.a[*]",
        "$.a[1:]",
        "$..a",
        "$.a[0,1]",
        "$.a[?(@.x)]",
        "$.*",
    ] {
        assert!(!p(s).is_definite(), "{s}");
    }
    assert!(p("$").is_reference());
    assert!(p("$.a['b'][2]").is_reference());
    assert!(!p("$.a[-1]").is_reference());
    assert!(!p("$$.a").is_reference());
    assert!(!p("$v.a").is_reference());
    assert!(!p("$.a[*]").is_reference());
}

#[test]
fn parse_errors_name_the_reason() {
    for bad in [
        "",
        "a.b",
        "$.",
        "$..",
        "$[",
        "$['a'",
        "$.a[?(@.x <)]",
        "$.a[x]",
        "$.a[0:1:0]",
        "$ .a",
        "$.a.foo()",
    ] {
        let err = JsonPath::parse(bad).expect_err(bad);
        assert_eq!(err.path, bad);
        assert!(!err.reason.is_empty());
    }
}

#[test]
fn assign_creates_intermediate_objects_and_keeps_key_order() {
    let mut target = json!({"a": 1, "b": {"c": 2}});
    JsonPath::parse("$.b.d.e")
        .unwrap()
        .assign(&mut target, json!(3))
        .unwrap();
    assert_eq!(target, json!({"a": 1, "b": {"c": 2, "d": {"e": 3}}}));
    JsonPath::parse("$.a")
        .unwrap()
        .assign(&mut target, json!("x"))
        .unwrap();
    assert_eq!(
        serde_json::to_string(&target).unwrap(),
        r#"{"a":"x","b":{"c":2,"d":{"e":3}}}"#
    );
}

#[test]
fn assign_root_replaces_everything() {
    let mut target = json!({"a": 1});
    JsonPath::parse("$")
        .unwrap()
        .assign(&mut target, json!([1]))
        .unwrap();
    assert_eq!(target, json!([1]));
}

#[test]
fn assign_into_array_element() {
    let mut target = json!({"a": [{"x": 1}, {"x": 2}]});
    JsonPath::parse("$.a[1].y")
        .unwrap()
        .assign(&mut target, json!(true))
        .unwrap();
    assert_eq!(target, json!({"a": [{"x": 1}, {"x": 2, "y": true}]}));
}

#[test]
fn assign_through_a_non_object_fails_and_leaves_target_alone() {
    let mut target = json!({"a": "str"});
    let err = JsonPath::parse("$.a.b")
        .unwrap()
        .assign(&mut target, json!(1))
        .unwrap_err();
    assert!(err.contains("$.a.b"), "{err}");
    assert_eq!(target, json!({"a": "str"}));
    assert!(JsonPath::parse("$.a[5]")
        .unwrap()
        .assign(&mut json!({"a": [1]}), json!(1))
        .is_err());
    assert!(JsonPath::parse("$.x")
        .unwrap()
        .assign(&mut json!("s"), json!(1))
        .is_err());
}

#[test]
fn deeply_nested_filter_is_a_parse_error_not_a_stack_overflow() {
    let path = format!("$[?({}@.a{})]", "(".repeat(10_000), ")".repeat(10_000));
    assert!(JsonPath::parse(&path)
        .unwrap_err()
        .reason
        .contains("deeper"));
}

/// Issue 12, item 9: a dot before a bracket is read as the bracket alone,
/// as Jayway (and so Step Functions) reads it.
#[test]
fn issue_12_a_dot_before_a_bracket_is_the_bracket() {
    let input = json!({"Snapshots": [{"State": "available"}], "a": {"b c": 1}});
    for (lenient, strict) in [
        ("$.[0]", "$[0]"),
        ("$.Snapshots.[0].State", "$.Snapshots[0].State"),
        ("$.a.['b c']", "$.a['b c']"),
        ("$.Snapshots.[*].State", "$.Snapshots[*].State"),
        (
            "$.Snapshots.[?(@.State == 'available')]",
            "$.Snapshots[?(@.State == 'available')]",
        ),
    ] {
        let l = JsonPath::parse(lenient).expect(lenient);
        let s = JsonPath::parse(strict).expect(strict);
        assert_eq!(l.normalized(), s.normalized(), "{lenient}");
        assert_eq!(l.is_definite(), s.is_definite(), "{lenient}");
        assert_eq!(sel(lenient, &input), sel(strict, &input), "{lenient}");
    }
    assert_eq!(sel("$.[0]", &json!([7, 8])), Some(json!(7)));
    assert!(JsonPath::parse("$.a.[0]").unwrap().is_reference());
    // A dot still needs something after it.
    for bad in ["$.a.", "$.a.[", "$.a..", "$.a.[0"] {
        assert!(JsonPath::parse(bad).is_err(), "{bad}");
    }
}

/// Issue 12, item 9: an unquoted word compared in a filter is a string.
#[test]
fn issue_12_a_bare_word_compared_in_a_filter_is_a_string() {
    let input = json!({"langs": [{"lang": "es", "n": 1}, {"lang": "en", "n": 2}, {"lang": "true", "n": 3}]});
    assert_eq!(sel("$.langs[?(@.lang==es)].n", &input), Some(json!([1])));
    assert_eq!(
        sel("$.langs[?(@.lang != es && es != @.lang)].n", &input),
        Some(json!([2, 3]))
    );
    assert_eq!(
        sel("$.langs[?(@.lang == en-GB)].n", &input),
        Some(json!([]))
    );
    // The keywords keep their meaning.
    assert_eq!(sel("$.langs[?(@.lang == true)].n", &input), Some(json!([])));
    // A word alone tests nothing and is refused.
    assert!(JsonPath::parse("$.langs[?(es)]").is_err());
}

/// Issue 12, item 9: whitespace around a path is ignored, as Jayway trims it.
#[test]
fn issue_12_whitespace_around_a_path_is_ignored() {
    let scope = StaticScope {
        context: json!({"Execution": {"Name": "run-1"}}),
        ..StaticScope::default()
    };
    let p = JsonPath::parse("$$.Execution.Name ").unwrap();
    assert_eq!(p.select(&json!({}), &scope), Some(json!("run-1")));
    assert_eq!(p.normalized(), "$$['Execution']['Name']");
    for (spaced, plain) in [(" $.a", "$.a"), ("$.a\n", "$.a"), ("\t$.a[0] ", "$.a[0]")] {
        assert_eq!(
            JsonPath::parse(spaced).unwrap().normalized(),
            JsonPath::parse(plain).unwrap().normalized()
        );
    }
    assert!(JsonPath::parse("$.a ").unwrap().is_reference());
    // Whitespace inside a path is still an error.
    assert!(JsonPath::parse("$ .a").is_err());
    assert!(JsonPath::parse("$.a b").is_err());
}

/// Issue 12 (fuzzing): each `..` multiplies the work by the depth of the
/// document, so `$..*..*` on 165 bytes selected 25 KB and `$..*..*..*` on
/// a 100-level input runs for minutes into gigabytes. An indefinite
/// selection is bounded in nodes visited, values selected and size; past
/// a bound it selects nothing, and the message names the bounds.
#[test]
fn descendant_scans_are_bounded() {
    let mut deep = json!("leaf");
    for i in 0..100 {
        deep = json!({ format!("k{i}"): deep, "n": [1, 2, 3] });
    }
    for path in [
        "$..*..*..*",
        "$..*..*..*.length()",
        "$..*..*..*['n','k1']",
        "$..*..*..[0]",
    ] {
        assert_eq!(sel(path, &deep), None, "{path}");
        let p = JsonPath::parse(path).unwrap();
        assert!(
            p.no_results_message().contains("passes Flowstate's bounds"),
            "{}",
            p.no_results_message()
        );
    }
    // Within the bounds nothing changes: one scan over the same document.
    assert_eq!(sel("$..n.length()", &deep), Some(json!(100)));
    // Inside a filter too: the operand selects nothing, so the test fails.
    let items = json!([{"a": deep.clone()}, {"b": 1}]);
    assert_eq!(sel("$[?(@..*..*..* == 1)]", &items), Some(json!([])));
}
