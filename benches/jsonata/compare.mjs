// Evaluates the expressions of payload-transform-jsonata.asl.json with
// jsonata-js, state by state, exactly as the state machine does: each
// state's Output (or Choice Condition) with $states.input bound to the
// previous state's output. It only evaluates expressions — no history, no
// context object beyond what the expressions read — so it is a lower bound
// on what a JSONata-based interpreter costs in Node.
//
//   cd benches/jsonata && npm install && node compare.mjs [seconds]
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import jsonata from "jsonata";

const here = path.dirname(fileURLToPath(import.meta.url));
const workloads = path.resolve(here, "../../tests/data/bench/workloads");
const def = JSON.parse(fs.readFileSync(path.join(here, "payload-transform-jsonata.asl.json"), "utf8"));
const input = JSON.parse(fs.readFileSync(path.join(workloads, "payload-transform.input.json"), "utf8"));
const expected = JSON.parse(fs.readFileSync(path.join(workloads, "payload-transform.expected.json"), "utf8"));
const strip = (s) => s.replace(/^\{%/, "").replace(/%\}$/, "").trim();

// Compile once, as Flowstate does when it loads a definition. `$parse` is a
// Step Functions extension, so jsonata-js gets it from here.
const compile = (text) => {
  const e = jsonata(strip(text));
  e.registerFunction("parse", (s) => JSON.parse(s));
  return e;
};
const compiled = {};
for (const [name, st] of Object.entries(def.States)) {
  if (st.Output) compiled[name] = { output: compile(st.Output) };
  if (st.Choices) compiled[name] = { choices: st.Choices.map((c) => ({ cond: compile(c.Condition), next: c.Next })) };
}

async function runOnce() {
  let name = def.StartAt;
  let data = input;
  let transitions = 0;
  for (;;) {
    const st = def.States[name];
    transitions++;
    const bindings = { states: { input: data, context: { Execution: { Input: input } } } };
    if (st.Type === "Pass") {
      data = await compiled[name].output.evaluate(undefined, bindings);
      name = st.Next;
    } else if (st.Type === "Choice") {
      let next = st.Default;
      for (const c of compiled[name].choices) {
        if (await c.cond.evaluate(undefined, bindings)) { next = c.next; break; }
      }
      name = next;
    } else if (st.Type === "Succeed") {
      return { data, transitions };
    } else {
      throw new Error(`${name}: ${st.Type} reached`);
    }
  }
}

const seconds = Number(process.argv[2] ?? 3);
const first = await runOnce();
if (JSON.stringify(first.data) !== JSON.stringify(expected)) throw new Error("output differs from payload-transform.expected.json");
const times = [];
const start = process.hrtime.bigint();
while (times.length < 5 || Number(process.hrtime.bigint() - start) / 1e9 < seconds) {
  const t = process.hrtime.bigint();
  await runOnce();
  times.push(Number(process.hrtime.bigint() - t) / 1e6);
}
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)];
console.log(JSON.stringify({
  engine: `jsonata-js ${JSON.parse(fs.readFileSync(path.join(here, "node_modules/jsonata/package.json"), "utf8")).version}`,
  node: process.version,
  runs: times.length,
  median_ms: median,
  transitions: first.transitions,
  transitions_per_s: first.transitions / (median / 1000),
}));
