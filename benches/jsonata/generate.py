"""Writes payload-transform-jsonata.asl.json: the JSONPath payload-transform
workload of tests/data/bench, state for state, in JSONata. Same input, same
expected output; the expressions are also what compare.mjs hands jsonata-js.

    python3 benches/jsonata/generate.py
"""
import json
import pathlib

ROUNDS = 20


def round_states(r: int) -> dict:
    p = f"R{r:02d}_"
    nxt = f"R{r + 1:02d}_Meta" if r < ROUNDS else "Done"
    return {
        p + "Meta": {
            "Type": "Pass",
            "Output": "{% $merge([$states.input, {'meta': {'name': $states.input.meta.name, "
            "'version': $states.input.meta.version + 1, "
            "'tags': $merge([$states.input.meta.tags, $states.input.meta.patch]), "
            "'patch': $states.input.meta.patch}}]) %}",
            "Next": p + "Serialize",
        },
        p + "Serialize": {
            "Type": "Pass",
            "Output": "{% $merge([$states.input, {'scratch': {'text': $string($states.input.records), "
            "'label': 'round ' & $states.input.round & ' of ' & $states.input.meta.name & ' v' & $states.input.meta.version}}]) %}",
            "Next": p + "Parse",
        },
        p + "Parse": {
            "Type": "Pass",
            "Output": "{% $merge([$states.input, {'parsed': {'records': $parse($states.input.scratch.text), "
            "'count': $count($states.input.records), "
            "'pair': [$states.input.scratch.label, $states.input.round]}}]) %}",
            "Next": p + "Check",
        },
        p + "Check": {
            "Type": "Choice",
            "Choices": [
                {
                    "Condition": "{% $states.input.parsed.count = 225 and $substring($states.input.scratch.label, 0, 6) = 'round ' %}",
                    "Next": p + "Commit",
                }
            ],
            "Default": "Mismatch",
        },
        p + "Commit": {
            "Type": "Pass",
            "Output": "{% {'round': $states.input.round + 1, 'meta': $states.input.meta, "
            "'records': $states.input.parsed.records, 'last': $states.input.parsed.pair, "
            "'count': $states.input.parsed.count, 'metaText': $string($states.input.meta)} %}",
            "Next": nxt,
        },
    }


def main() -> None:
    states = {}
    for r in range(1, ROUNDS + 1):
        states.update(round_states(r))
    states["Done"] = {"Type": "Succeed"}
    states["Mismatch"] = {"Type": "Fail", "Error": "Bench.Mismatch", "Cause": "record count or label did not match"}
    definition = {
        "Comment": "payload-transform in JSONata: 20 rounds of merge, serialise, parse, check, commit",
        "QueryLanguage": "JSONata",
        "StartAt": "R01_Meta",
        "States": states,
    }
    out = pathlib.Path(__file__).with_name("payload-transform-jsonata.asl.json")
    out.write_text(json.dumps(definition, indent=2) + "\n")


if __name__ == "__main__":
    main()
