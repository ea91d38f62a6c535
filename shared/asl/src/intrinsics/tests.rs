use super::*;
use crate::context::StaticScope;
use serde_json::json;

fn eval(expr: &str, input: Value) -> Result<Value, Failure> {
    Intrinsic::parse(expr)
        .unwrap()
        .evaluate(&input, &StaticScope::default(), 42)
}

fn fails(expr: &str, input: Value) -> Failure {
    eval(expr, input).expect_err(expr)
}

/// Every deterministic case of conformance/cases/intrinsic_functions (JSONPath
/// mode): the expression, the execution input and AWS's result.
const CONFORMANCE: &[(&str, &str, &str)] = &[
    // array.array_0
    (
        r#"States.Array()"#,
        r#"{"FunctionInput": "HelloWorld"}"#,
        r#"[]"#,
    ),
    // array.array_2.e0
    (
        r#"States.Array($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": "", "snd": ""}}"#,
        r#"["", ""]"#,
    ),
    // array.array_2.e1
    (
        r#"States.Array($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": " ", "snd": " "}}"#,
        r#"[" ", " "]"#,
    ),
    // array.array_2.e3
    (
        r#"States.Array($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": null, "snd": null}}"#,
        r#"[null, null]"#,
    ),
    // array.array_2.e4
    (
        r#"States.Array($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": 1, "snd": 1}}"#,
        r#"[1, 1]"#,
    ),
    // array.array_2.e6
    (
        r#"States.Array($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": "{\"Arg1\": 1, \"Arg2\": []}", "snd": "{\"Arg1\": 1, \"Arg2\": []}"}}"#,
        r#"["{\"Arg1\": 1, \"Arg2\": []}", "{\"Arg1\": 1, \"Arg2\": []}"]"#,
    ),
    // array.array_2.e7
    (
        r#"States.Array($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": {"Arg1": 1, "Arg2": []}, "snd": {"Arg1": 1, "Arg2": []}}}"#,
        r#"[{"Arg1": 1, "Arg2": []}, {"Arg1": 1, "Arg2": []}]"#,
    ),
    // array.array_contains.e0
    (
        r#"States.ArrayContains($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": [], "snd": null}}"#,
        r#"false"#,
    ),
    // array.array_contains.e1
    (
        r#"States.ArrayContains($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": [], "snd": []}}"#,
        r#"false"#,
    ),
    // array.array_contains.e3
    (
        r#"States.ArrayContains($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": [[1, 2, 3], 2], "snd": null}}"#,
        r#"false"#,
    ),
    // array.array_contains.e4
    (
        r#"States.ArrayContains($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": [[1, 2, 3], 2], "snd": [1, 2, 3]}}"#,
        r#"true"#,
    ),
    // array.array_contains.e5
    (
        r#"States.ArrayContains($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": [{"1": 2, "2": []}], "snd": []}}"#,
        r#"false"#,
    ),
    // array.array_contains.e6
    (
        r#"States.ArrayContains($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": [{"1": 2, "2": []}], "snd": {"1": 2, "2": []}}}"#,
        r#"true"#,
    ),
    // array.array_contains.e7
    (
        r#"States.ArrayContains($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": [true, false], "snd": true}}"#,
        r#"true"#,
    ),
    // array.array_get_item
    (
        r#"States.ArrayGetItem($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": [1, 2, 3, 4, 5, 6, 7, 8, 9], "snd": 5}}"#,
        r#"6"#,
    ),
    // array.array_length
    (
        r#"States.ArrayLength($.FunctionInput)"#,
        r#"{"FunctionInput": [1, 2, 3, 4, 5, 6, 7, 8, 9]}"#,
        r#"9"#,
    ),
    // array.array_partition.e0
    (
        r#"States.ArrayPartition($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": [], "snd": 1}}"#,
        r#"[]"#,
    ),
    // array.array_partition.e1
    (
        r#"States.ArrayPartition($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": [], "snd": 2}}"#,
        r#"[]"#,
    ),
    // array.array_partition.e11
    (
        r#"States.ArrayPartition($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": [0, 1], "snd": 2}}"#,
        r#"[[0, 1]]"#,
    ),
    // array.array_partition.e12
    (
        r#"States.ArrayPartition($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": [0, 1], "snd": 3}}"#,
        r#"[[0, 1]]"#,
    ),
    // array.array_partition.e13
    (
        r#"States.ArrayPartition($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": [0, 1], "snd": 4}}"#,
        r#"[[0, 1]]"#,
    ),
    // array.array_partition.e14
    (
        r#"States.ArrayPartition($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": [0, 1], "snd": 5}}"#,
        r#"[[0, 1]]"#,
    ),
    // array.array_partition.e15
    (
        r#"States.ArrayPartition($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": [0, 1, 2], "snd": 1}}"#,
        r#"[[0], [1], [2]]"#,
    ),
    // array.array_partition.e16
    (
        r#"States.ArrayPartition($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": [0, 1, 2], "snd": 2}}"#,
        r#"[[0, 1], [2]]"#,
    ),
    // array.array_partition.e17
    (
        r#"States.ArrayPartition($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": [0, 1, 2], "snd": 3}}"#,
        r#"[[0, 1, 2]]"#,
    ),
    // array.array_partition.e18
    (
        r#"States.ArrayPartition($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": [0, 1, 2], "snd": 4}}"#,
        r#"[[0, 1, 2]]"#,
    ),
    // array.array_partition.e20
    (
        r#"States.ArrayPartition($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": [0, 1, 2, 3], "snd": 1}}"#,
        r#"[[0], [1], [2], [3]]"#,
    ),
    // array.array_partition.e21
    (
        r#"States.ArrayPartition($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": [0, 1, 2, 3], "snd": 2}}"#,
        r#"[[0, 1], [2, 3]]"#,
    ),
    // array.array_partition.e22
    (
        r#"States.ArrayPartition($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": [0, 1, 2, 3], "snd": 3}}"#,
        r#"[[0, 1, 2], [3]]"#,
    ),
    // array.array_partition.e23
    (
        r#"States.ArrayPartition($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": [0, 1, 2, 3], "snd": 4}}"#,
        r#"[[0, 1, 2, 3]]"#,
    ),
    // array.array_partition.e24
    (
        r#"States.ArrayPartition($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": [0, 1, 2, 3], "snd": 5}}"#,
        r#"[[0, 1, 2, 3]]"#,
    ),
    // array.array_partition.e3
    (
        r#"States.ArrayPartition($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": [], "snd": 4}}"#,
        r#"[]"#,
    ),
    // array.array_partition.e6
    (
        r#"States.ArrayPartition($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": [0], "snd": 2}}"#,
        r#"[[0]]"#,
    ),
    // array.array_partition.e7
    (
        r#"States.ArrayPartition($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": [0], "snd": 3}}"#,
        r#"[[0]]"#,
    ),
    // array.array_partition.e8
    (
        r#"States.ArrayPartition($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": [0], "snd": 4}}"#,
        r#"[[0]]"#,
    ),
    // array.array_partition.e9
    (
        r#"States.ArrayPartition($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": [0], "snd": 5}}"#,
        r#"[[0]]"#,
    ),
    // array.array_range.e0
    (
        r#"States.ArrayRange($.FunctionInput.fst, $.FunctionInput.snd, $.FunctionInput.trd)"#,
        r#"{"FunctionInput": {"fst": 0, "snd": 9, "trd": 3}}"#,
        r#"[0, 3, 6, 9]"#,
    ),
    // array.array_range.e3
    (
        r#"States.ArrayRange($.FunctionInput.fst, $.FunctionInput.snd, $.FunctionInput.trd)"#,
        r#"{"FunctionInput": {"fst": 1, "snd": 9, "trd": 2}}"#,
        r#"[1, 3, 5, 7, 9]"#,
    ),
    // array.array_unique
    (
        r#"States.ArrayLength($.FunctionInput)"#,
        r#"{"FunctionInput": [null, null, true, true, false, false, 1, 1, 1.1, 0, 0, "HelloWorld", "HelloWorld", [], [], [null], [null], {"a": 1, "b": 2}, {"a": 1, "b": 2}, {"a": 1, "b": 1}]}"#,
        r#"20"#,
    ),
    // encode_decode.base_64_encode.e0
    (
        r#"States.Base64Encode($.FunctionInput)"#,
        r#"{"FunctionInput": ""}"#,
        r#""""#,
    ),
    // encode_decode.base_64_encode.e1
    (
        r#"States.Base64Encode($.FunctionInput)"#,
        r#"{"FunctionInput": "Data to encode"}"#,
        r#""RGF0YSB0byBlbmNvZGU=""#,
    ),
    // generic.format_1.e0
    (
        r#"States.Format('Formatting argument {}.', $.FunctionInput)"#,
        r#"{"FunctionInput": ""}"#,
        r#""Formatting argument .""#,
    ),
    // generic.format_1.e2
    (
        r#"States.Format('Formatting argument {}.', $.FunctionInput)"#,
        r#"{"FunctionInput": "HelloWorld"}"#,
        r#""Formatting argument HelloWorld.""#,
    ),
    // generic.format_1.e3
    (
        r#"States.Format('Formatting argument {}.', $.FunctionInput)"#,
        r#"{"FunctionInput": null}"#,
        r#""Formatting argument null.""#,
    ),
    // generic.format_1.e4
    (
        r#"States.Format('Formatting argument {}.', $.FunctionInput)"#,
        r#"{"FunctionInput": 1}"#,
        r#""Formatting argument 1.""#,
    ),
    // generic.format_1.e5
    (
        r#"States.Format('Formatting argument {}.', $.FunctionInput)"#,
        r#"{"FunctionInput": 1.1}"#,
        r#""Formatting argument 1.1.""#,
    ),
    // generic.format_1.e6
    (
        r#"States.Format('Formatting argument {}.', $.FunctionInput)"#,
        r#"{"FunctionInput": "{\"Arg1\": 1, \"Arg2\": []}"}"#,
        r#""Formatting argument {\"Arg1\": 1, \"Arg2\": []}.""#,
    ),
    // generic.format_2.e0
    (
        r#"States.Format('Formatting arguments fst={} and snd={}.', $.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": "", "snd": ""}}"#,
        r#""Formatting arguments fst= and snd=.""#,
    ),
    // generic.format_2.e2
    (
        r#"States.Format('Formatting arguments fst={} and snd={}.', $.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": "HelloWorld", "snd": "HelloWorld"}}"#,
        r#""Formatting arguments fst=HelloWorld and snd=HelloWorld.""#,
    ),
    // generic.format_2.e3
    (
        r#"States.Format('Formatting arguments fst={} and snd={}.', $.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": null, "snd": null}}"#,
        r#""Formatting arguments fst=null and snd=null.""#,
    ),
    // generic.format_2.e4
    (
        r#"States.Format('Formatting arguments fst={} and snd={}.', $.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": 1, "snd": 1}}"#,
        r#""Formatting arguments fst=1 and snd=1.""#,
    ),
    // generic.format_2.e5
    (
        r#"States.Format('Formatting arguments fst={} and snd={}.', $.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": 1.1, "snd": 1.1}}"#,
        r#""Formatting arguments fst=1.1 and snd=1.1.""#,
    ),
    // generic.format_2.e6
    (
        r#"States.Format('Formatting arguments fst={} and snd={}.', $.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": "{\"Arg1\": 1, \"Arg2\": []}", "snd": "{\"Arg1\": 1, \"Arg2\": []}"}}"#,
        r#""Formatting arguments fst={\"Arg1\": 1, \"Arg2\": []} and snd={\"Arg1\": 1, \"Arg2\": []}.""#,
    ),
    // generic.format_2.e7
    (
        r#"States.Format('Formatting arguments fst={} and snd={}.', $.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": {"Arg1": 1, "Arg2": []}, "snd": {"Arg1": 1, "Arg2": []}}}"#,
        r#""Formatting arguments fst={Arg1=1, Arg2=[]} and snd={Arg1=1, Arg2=[]}.""#,
    ),
    // hash_calculations.hash.e0
    (
        r#"States.Hash($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": "input data", "snd": "MD5"}}"#,
        r#""812f45842bc6d66ee14572ce20db8e86""#,
    ),
    // hash_calculations.hash.e1
    (
        r#"States.Hash($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": "input data", "snd": "SHA-1"}}"#,
        r#""aaff4a450a104cd177d28d18d74485e8cae074b7""#,
    ),
    // hash_calculations.hash.e2
    (
        r#"States.Hash($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": "input data", "snd": "SHA-256"}}"#,
        r#""b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3""#,
    ),
    // hash_calculations.hash.e3
    (
        r#"States.Hash($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": "input data", "snd": "SHA-384"}}"#,
        r#""d28a7d5cf25a74f11a50a18452b75e04bb3d70c9dd0510d6123aa008c756511b87525bdc835ebb27e1fb9e9374a15562""#,
    ),
    // hash_calculations.hash.e4
    (
        r#"States.Hash($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": "input data", "snd": "SHA-512"}}"#,
        r#""6ce4adb348546d4f449c4d25aad9a7c9cb711d9e91982d3f0b29ca2f3f47d4ce2deba23bf2954f0f1d593fc50283731a533d30d425402d4f91316d871303aac4""#,
    ),
    // json_manipulation.json_merge
    (
        r#"States.JsonMerge($.FunctionInput.fst, $.FunctionInput.snd, false)"#,
        r#"{"FunctionInput": {"fst": {"a": {"a1": 1, "a2": 2}, "b": 2, "d": 3}, "snd": {"a": {"a3": 1, "a4": 2}, "c": 3, "d": 4}}}"#,
        r#"{"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3, "d": 4}"#,
    ),
    // json_manipulation.json_to_string.e0
    (
        r#"States.JsonToString($.FunctionInput)"#,
        r#"{"FunctionInput": null}"#,
        r#""null""#,
    ),
    // json_manipulation.json_to_string.e1
    (
        r#"States.JsonToString($.FunctionInput)"#,
        r#"{"FunctionInput": 0}"#,
        r#""0""#,
    ),
    // json_manipulation.json_to_string.e2
    (
        r#"States.JsonToString($.FunctionInput)"#,
        r#"{"FunctionInput": 1}"#,
        r#""1""#,
    ),
    // json_manipulation.json_to_string.e3
    (
        r#"States.JsonToString($.FunctionInput)"#,
        r#"{"FunctionInput": 1.1}"#,
        r#""1.1""#,
    ),
    // json_manipulation.json_to_string.e4
    (
        r#"States.JsonToString($.FunctionInput)"#,
        r#"{"FunctionInput": true}"#,
        r#""true""#,
    ),
    // json_manipulation.json_to_string.e5
    (
        r#"States.JsonToString($.FunctionInput)"#,
        r#"{"FunctionInput": "HelloWorld"}"#,
        r#""\"HelloWorld\"""#,
    ),
    // json_manipulation.json_to_string.e6
    (
        r#"States.JsonToString($.FunctionInput)"#,
        r#"{"FunctionInput": [1, 2, "HelloWorld"]}"#,
        r#""[1,2,\"HelloWorld\"]""#,
    ),
    // json_manipulation.string_to_json.e0
    (
        r#"States.StringToJson($.FunctionInput)"#,
        r#"{"FunctionInput": ""}"#,
        r#"null"#,
    ),
    // json_manipulation.string_to_json.e2
    (
        r#"States.StringToJson($.FunctionInput)"#,
        r#"{"FunctionInput": "null"}"#,
        r#"null"#,
    ),
    // json_manipulation.string_to_json.e3
    (
        r#"States.StringToJson($.FunctionInput)"#,
        r#"{"FunctionInput": "-0"}"#,
        r#"0"#,
    ),
    // json_manipulation.string_to_json.e4
    (
        r#"States.StringToJson($.FunctionInput)"#,
        r#"{"FunctionInput": "1"}"#,
        r#"1"#,
    ),
    // json_manipulation.string_to_json.e5
    (
        r#"States.StringToJson($.FunctionInput)"#,
        r#"{"FunctionInput": "1.1"}"#,
        r#"1.1"#,
    ),
    // json_manipulation.string_to_json.e6
    (
        r#"States.StringToJson($.FunctionInput)"#,
        r#"{"FunctionInput": "true"}"#,
        r#"true"#,
    ),
    // json_manipulation.string_to_json.e7
    (
        r#"States.StringToJson($.FunctionInput)"#,
        r#"{"FunctionInput": "\"HelloWorld\""}"#,
        r#""HelloWorld""#,
    ),
    // json_manipulation.string_to_json.e8
    (
        r#"States.StringToJson($.FunctionInput)"#,
        r#"{"FunctionInput": "[1, 2, \"HelloWorld\"]"}"#,
        r#"[1, 2, "HelloWorld"]"#,
    ),
    // json_manipulation.string_to_json.e9
    (
        r#"States.StringToJson($.FunctionInput)"#,
        r#"{"FunctionInput": "{\"Arg1\": 1, \"Arg2\": []}"}"#,
        r#"{"Arg1": 1, "Arg2": []}"#,
    ),
    // math_operations.math_add.e0
    (
        r#"States.MathAdd($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": -9, "snd": 3}}"#,
        r#"-6"#,
    ),
    // math_operations.math_add.e1
    (
        r#"States.MathAdd($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": 1.49, "snd": 1.5}}"#,
        r#"3"#,
    ),
    // math_operations.math_add.e10
    (
        r#"States.MathAdd($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": -1.5, "snd": 0}}"#,
        r#"-1"#,
    ),
    // math_operations.math_add.e11
    (
        r#"States.MathAdd($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": -1.51, "snd": 0}}"#,
        r#"-2"#,
    ),
    // math_operations.math_add.e14
    (
        r#"States.MathAdd($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": 2.5, "snd": 0}}"#,
        r#"3"#,
    ),
    // math_operations.math_add.e15
    (
        r#"States.MathAdd($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": 3.5, "snd": 0}}"#,
        r#"4"#,
    ),
    // math_operations.math_add.e16
    (
        r#"States.MathAdd($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": -0.5, "snd": 0.5}}"#,
        r#"1"#,
    ),
    // math_operations.math_add.e17
    (
        r#"States.MathAdd($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": -0.5, "snd": 0}}"#,
        r#"0"#,
    ),
    // math_operations.math_add.e19
    (
        r#"States.MathAdd($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": -2.5, "snd": 0}}"#,
        r#"-2"#,
    ),
    // math_operations.math_add.e5
    (
        r#"States.MathAdd($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": 1.49, "snd": 0}}"#,
        r#"1"#,
    ),
    // math_operations.math_add.e6
    (
        r#"States.MathAdd($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": 1.49, "snd": -1.49}}"#,
        r#"0"#,
    ),
    // math_operations.math_add.e7
    (
        r#"States.MathAdd($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": 1.5, "snd": 0}}"#,
        r#"2"#,
    ),
    // math_operations.math_add.e8
    (
        r#"States.MathAdd($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": 1.51, "snd": 0}}"#,
        r#"2"#,
    ),
    // math_operations.math_add.e9
    (
        r#"States.MathAdd($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": -1.49, "snd": 0}}"#,
        r#"-1"#,
    ),
    // string_operations.string_split.e0
    (
        r#"States.StringSplit($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": " ", "snd": ","}}"#,
        r#"[" "]"#,
    ),
    // string_operations.string_split.e1
    (
        r#"States.StringSplit($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": " , ", "snd": ","}}"#,
        r#"[" ", " "]"#,
    ),
    // string_operations.string_split.e2
    (
        r#"States.StringSplit($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": ", , ,", "snd": ","}}"#,
        r#"[" ", " "]"#,
    ),
    // string_operations.string_split.e3
    (
        r#"States.StringSplit($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": ",,,,", "snd": ","}}"#,
        r#"[]"#,
    ),
    // string_operations.string_split.e4
    (
        r#"States.StringSplit($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": "1,2,3,4,5", "snd": ","}}"#,
        r#"["1", "2", "3", "4", "5"]"#,
    ),
    // string_operations.string_split.e5
    (
        r#"States.StringSplit($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": "This.is+a,test=string", "snd": ".+,="}}"#,
        r#"["This", "is", "a", "test", "string"]"#,
    ),
    // string_operations.string_split.e6
    (
        r#"States.StringSplit($.FunctionInput.fst, $.FunctionInput.snd)"#,
        r#"{"FunctionInput": {"fst": "split on T and \nnew line", "snd": "T\n"}}"#,
        r#"["split on ", " and ", "new line"]"#,
    ),
];

#[test]
fn conformance_cases_give_aws_results() {
    for (expr, input, expected) in CONFORMANCE {
        let input: Value = serde_json::from_str(input).unwrap();
        let expected: Value = serde_json::from_str(expected).unwrap();
        let got = eval(expr, input.clone()).unwrap_or_else(|e| panic!("{expr} on {input}: {e}"));
        assert_eq!(got, expected, "{expr} on {input}");
        // Integers stay integers (MathAdd, ArrayLength, StringToJson("-0")). The
        // recorded objects have sorted keys, so only non-objects compare as text.
        if !expected.is_object() {
            assert_eq!(got.to_string(), expected.to_string(), "{expr} on {input}");
        }
    }
}

#[test]
fn literal_arguments_of_every_kind_parse() {
    let out = eval(
        "States.Array('a', 1, -2.5, true, false, null, States.Array())",
        json!({}),
    )
    .unwrap();
    assert_eq!(out, json!(["a", 1, -2.5, true, false, null, []]));
}

#[test]
fn string_literal_escapes_are_resolved() {
    assert_eq!(
        eval(r"States.Array('it\'s \{x\} a\\b')", json!({})).unwrap(),
        json!([r"it's {x} a\b"])
    );
}

#[test]
fn format_keeps_escaped_braces_literal() {
    let out = eval(
        r"States.Format('\{{}\} it\'s {}', $.a, 'b')",
        json!({"a": 1}),
    )
    .unwrap();
    assert_eq!(out, json!("{1} it's b"));
}

#[test]
fn format_template_may_come_from_a_variable() {
    let mut scope = StaticScope::default();
    scope
        .variables
        .insert("AnswerTemplate".into(), json!("It's {}!"));
    scope.context = json!({"Map": {"Item": {"Value": "Pikachu"}}});
    let f = Intrinsic::parse("States.Format($AnswerTemplate, $$.Map.Item.Value)").unwrap();
    assert_eq!(
        f.evaluate(&json!({}), &scope, 0).unwrap(),
        json!("It's Pikachu!")
    );
}

#[test]
fn format_renders_nested_values_like_java() {
    let out = eval(
        "States.Format('{}', $.v)",
        json!({"v": {"a": [1, "x", {"b": null}], "c": true}}),
    )
    .unwrap();
    assert_eq!(out, json!("{a=[1, x, {b=null}], c=true}"));
}

#[test]
fn format_placeholder_count_must_match_arguments() {
    assert_eq!(
        fails("States.Format('{} {}', 1)", json!({})).error,
        "States.IntrinsicFailure"
    );
    assert_eq!(
        fails("States.Format('{}', 1, 2)", json!({})).error,
        "States.IntrinsicFailure"
    );
}

#[test]
fn nested_calls_feed_their_results() {
    let mut scope = StaticScope {
        context: json!({"StateMachine": {"Name": "abc-def"}}),
        ..Default::default()
    };
    scope.variables.insert("x".into(), json!(1));
    let f =
        Intrinsic::parse("States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), 0)")
            .unwrap();
    assert_eq!(f.evaluate(&json!({}), &scope, 0).unwrap(), json!("abc"));
    let f = Intrinsic::parse(
        "States.MathAdd(States.MathAdd($x, $x), States.ArrayLength(States.Array(1, 2)))",
    )
    .unwrap();
    assert_eq!(f.evaluate(&json!({}), &scope, 0).unwrap(), json!(4));
}

/// Conformance: json_manipulation.json_merge_escaped_argument.
#[test]
fn json_merge_of_a_parsed_literal_and_a_context_path() {
    let scope = StaticScope {
        context: json!({"Execution": {"Input": {"input_field": {"constant_input_field": "constant_value"}}}}),
        ..Default::default()
    };
    let f = Intrinsic::parse(
        r#"States.JsonMerge(States.StringToJson('{"constant_in_literal": "false"}'), $$.Execution.Input.input_field, false)"#,
    )
    .unwrap();
    let out = f.evaluate(&json!({}), &scope, 0).unwrap();
    assert_eq!(
        out,
        json!({"constant_in_literal": "false", "constant_input_field": "constant_value"})
    );
}

#[test]
fn json_merge_keeps_first_positions_and_appends_new_keys() {
    let out = eval(
        "States.JsonMerge($.a, $.b, false)",
        json!({"a": {"x": 1, "y": 2}, "b": {"z": 3, "x": 9}}),
    )
    .unwrap();
    assert_eq!(
        serde_json::to_string(&out).unwrap(),
        r#"{"x":9,"y":2,"z":3}"#
    );
}

#[test]
fn json_merge_deep_is_rejected() {
    let err = fails("States.JsonMerge($.a, $.a, true)", json!({"a": {}}));
    assert_eq!(err.error, "States.IntrinsicFailure");
    assert_eq!(
        fails("States.JsonMerge($.a, 1, false)", json!({"a": {}})).error,
        "States.IntrinsicFailure"
    );
}

#[test]
fn json_to_string_is_compact_and_keeps_non_ascii() {
    assert_eq!(
        eval("States.JsonToString($)", json!({"a": [1, "é{}"]})).unwrap(),
        json!(r#"{"a":[1,"é{}"]}"#)
    );
}

#[test]
fn string_to_json_rejects_invalid_json() {
    assert_eq!(
        fails("States.StringToJson('{nope')", json!({})).error,
        "States.IntrinsicFailure"
    );
    assert_eq!(
        fails("States.StringToJson(1)", json!({})).error,
        "States.IntrinsicFailure"
    );
}

#[test]
fn array_range_limits_and_direction() {
    assert_eq!(
        eval("States.ArrayRange(5, 1, -2)", json!({})).unwrap(),
        json!([5, 3, 1])
    );
    assert_eq!(
        eval("States.ArrayRange(5, 1, 2)", json!({})).unwrap(),
        json!([])
    );
    assert_eq!(
        eval("States.ArrayRange(1, 1000, 1)", json!({}))
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1000
    );
    assert_eq!(
        fails("States.ArrayRange(0, 1000, 1)", json!({})).error,
        "States.IntrinsicFailure"
    );
    assert_eq!(
        fails("States.ArrayRange(0, 10, 0)", json!({})).error,
        "States.IntrinsicFailure"
    );
    assert_eq!(
        fails("States.ArrayRange(0.5, 10, 1)", json!({})).error,
        "States.IntrinsicFailure"
    );
}

#[test]
fn array_get_item_out_of_bounds_fails() {
    assert_eq!(
        fails("States.ArrayGetItem($.a, 3)", json!({"a": [1, 2, 3]})).error,
        "States.IntrinsicFailure"
    );
    assert_eq!(
        fails("States.ArrayGetItem($.a, -1)", json!({"a": [1]})).error,
        "States.IntrinsicFailure"
    );
}

#[test]
fn array_partition_needs_a_positive_size() {
    assert_eq!(
        fails("States.ArrayPartition($.a, 0)", json!({"a": [1]})).error,
        "States.IntrinsicFailure"
    );
    assert_eq!(
        fails("States.ArrayPartition('x', 1)", json!({})).error,
        "States.IntrinsicFailure"
    );
}

#[test]
fn array_unique_keeps_first_occurrences_in_order() {
    let input = json!({"a": [null, null, true, true, 1, 1, 1.1, "x", "x", [], [], {"a": 1, "b": 2}, {"b": 2, "a": 1}, {"a": 1, "b": 1}]});
    let out = eval("States.ArrayUnique($.a)", input).unwrap();
    assert_eq!(
        out,
        json!([null, true, 1, 1.1, "x", [], {"a": 1, "b": 2}, {"a": 1, "b": 1}])
    );
}

#[test]
fn base64_round_trip_and_invalid_input() {
    assert_eq!(
        eval("States.Base64Decode('SGVsbG8gV29ybGQ=')", json!({})).unwrap(),
        json!("Hello World")
    );
    assert_eq!(
        eval("States.Base64Encode('Hello World')", json!({})).unwrap(),
        json!("SGVsbG8gV29ybGQ=")
    );
    assert_eq!(
        fails("States.Base64Decode('###')", json!({})).error,
        "States.IntrinsicFailure"
    );
    let long = "a".repeat(10_001);
    assert_eq!(
        fails("States.Base64Encode($.s)", json!({ "s": long })).error,
        "States.IntrinsicFailure"
    );
}

/// Conformance: assign_reference_variables.reference_assign--BASE_REFERENCE_IN_INTRINSIC_FUNCTION.
#[test]
fn hash_sha256_of_a_literal_algorithm() {
    assert_eq!(
        eval(
            "States.Hash($.s, 'SHA-256')",
            json!({"s": "Hash this string"})
        )
        .unwrap(),
        json!("1cac63f39fd68d8c531f27b807610fb3d50f0fc3f186995767fb6316e7200a3e")
    );
}

#[test]
fn hash_rejects_unknown_algorithm() {
    assert_eq!(
        fails("States.Hash('x', 'SHA-3')", json!({})).error,
        "States.IntrinsicFailure"
    );
}

#[test]
fn math_add_rejects_non_numbers_and_out_of_int_range() {
    assert_eq!(
        fails("States.MathAdd('1', 1)", json!({})).error,
        "States.IntrinsicFailure"
    );
    assert_eq!(
        fails("States.MathAdd(2147483648, 1)", json!({})).error,
        "States.IntrinsicFailure"
    );
    assert_eq!(
        eval("States.MathAdd($.Iterations, -1)", json!({"Iterations": 3})).unwrap(),
        json!(2)
    );
}

#[test]
fn math_random_is_deterministic_and_in_range() {
    for seed in 0..200u64 {
        let f = Intrinsic::parse("States.MathRandom(-3, 4)").unwrap();
        let v = f
            .evaluate(&json!({}), &StaticScope::default(), seed)
            .unwrap()
            .as_i64()
            .unwrap();
        assert!((-3..4).contains(&v));
        assert_eq!(
            f.evaluate(&json!({}), &StaticScope::default(), seed)
                .unwrap(),
            json!(v)
        );
    }
    let seeded = |s| {
        eval("States.MathRandom(0, 999, 3)", json!({}))
            .map(|v| (v, s))
            .unwrap()
            .0
    };
    assert_eq!(seeded(1), seeded(2));
    assert_eq!(
        fails("States.MathRandom(5, 5)", json!({})).error,
        "States.IntrinsicFailure"
    );
}

#[test]
fn uuid_is_v4_shaped_and_follows_the_seed() {
    let f = Intrinsic::parse("States.UUID()").unwrap();
    let a = f.evaluate(&json!({}), &StaticScope::default(), 1).unwrap();
    let b = f.evaluate(&json!({}), &StaticScope::default(), 2).unwrap();
    assert_ne!(a, b);
    assert_eq!(
        a,
        f.evaluate(&json!({}), &StaticScope::default(), 1).unwrap()
    );
    let re =
        regex::Regex::new("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
            .unwrap();
    assert!(re.is_match(a.as_str().unwrap()), "{a}");
    let two = eval("States.Array(States.UUID(), States.UUID())", json!({})).unwrap();
    assert_ne!(two[0], two[1]);
}

#[test]
fn missing_path_argument_fails_with_runtime() {
    let err = fails("States.Format('{}', $.nope)", json!({"a": 1}));
    assert_eq!(err.error, "States.Runtime");
    assert_eq!(
        err.cause.as_deref(),
        Some("The JSONPath '$.nope' could not be found in the input '{\"a\":1}'")
    );
    let f = Intrinsic::parse("States.Format('{}', $.nope)").unwrap();
    let err = f
        .evaluate_for_field(Some("x.$"), &json!({}), &StaticScope::default(), 0)
        .unwrap_err();
    assert_eq!(
        err.cause.as_deref(),
        Some("The JSONPath '$.nope' specified for the field 'x.$' could not be found in the input '{}'")
    );
}

#[test]
fn path_arguments_may_contain_commas_and_parentheses() {
    let input = json!({"a": [{"x": 1}, {"x": 2}, {"x": 3}]});
    assert_eq!(
        eval("States.ArrayLength($.a[0,1])", input.clone()).unwrap(),
        json!(2)
    );
    assert_eq!(
        eval("States.ArrayLength($.a[?(@.x > 1)])", input).unwrap(),
        json!(2)
    );
}

#[test]
fn whitespace_between_arguments_is_allowed() {
    assert_eq!(
        eval("  States.MathAdd( 1 ,\t2 )  ", json!({})).unwrap(),
        json!(3)
    );
}

#[test]
fn parse_errors_name_the_problem() {
    for bad in [
        "States.Nope()",
        "States.Format(",
        "States.Format('x'",
        "States.Format('x) ",
        "States.MathAdd(1)",
        "States.UUID(1)",
        "States.ArrayRange(1, 2)",
        "States.Array(1,)",
        "States.Array(foo)",
        "States.Array($.a[)",
        "States.Array(1) extra",
        "States.Array(1 2)",
    ] {
        let err = Intrinsic::parse(bad).expect_err(bad);
        assert_eq!(err.src, bad);
        assert!(!err.reason.is_empty(), "{bad}");
    }
}

#[test]
fn function_names_round_trip() {
    for f in Func::EVERY {
        assert_eq!(Func::from_name(f.name()), Some(f));
    }
}

#[test]
fn deeply_nested_calls_are_a_parse_error_not_a_stack_overflow() {
    let src = format!("{}1{}", "States.Array(".repeat(10_000), ")".repeat(10_000));
    assert!(Intrinsic::parse(&src)
        .unwrap_err()
        .reason
        .contains("deeper"));
}

/// Issue 12 (fuzzing): nested calls multiplied what they read without a
/// bound — 30 nested `States.JsonToString` double the escapes 30 times
/// (gigabytes from a few bytes), and a call with many arguments reading
/// the whole input copies it as often. The first call past the value bound
/// fails instead.
#[test]
fn nested_calls_stay_within_the_value_bound() {
    let tower =
        |open: &str, close: &str, n: usize| format!("{}$.a{}", open.repeat(n), close.repeat(n));
    let input = json!({"a": "\"quoted\"", "b": [1, 2, 3]});
    let f = fails(&tower("States.JsonToString(", ")", 30), input.clone());
    assert_eq!(f.error, "States.IntrinsicFailure");
    assert_eq!(
        f.cause.as_deref(),
        Some("States.JsonToString built a value larger than 4 MiB")
    );
    // Many arguments reading the whole input count together.
    let big = json!({"a": "x".repeat(300_000)});
    let expr = format!("States.Array({})", vec!["$.a"; 20].join(", "));
    assert_eq!(fails(&expr, big.clone()).error, "States.IntrinsicFailure");
    // Within the bound, nesting works as before.
    let mut text = eval(&tower("States.JsonToString(", ")", 3), input).unwrap();
    for _ in 0..3 {
        text = serde_json::from_str(text.as_str().unwrap()).unwrap();
    }
    assert_eq!(text, json!("\"quoted\""));
    assert_eq!(
        eval(
            &format!("States.Array({})", vec!["$.a"; 13].join(", ")),
            big
        )
        .unwrap()
        .as_array()
        .map(Vec::len),
        Some(13)
    );
}
