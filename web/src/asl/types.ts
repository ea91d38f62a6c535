// The parts of an Amazon States Language definition the UI reads. Anything
// else a state carries is kept untouched (the index signature).

export interface ChoiceRule {
  Next?: string;
  Variable?: string;
  Condition?: string;
  And?: ChoiceRule[];
  Or?: ChoiceRule[];
  Not?: ChoiceRule;
  [operator: string]: unknown;
}

export interface Catcher {
  ErrorEquals?: string[];
  Next?: string;
  [field: string]: unknown;
}

export interface StateDef {
  Type: string;
  Next?: string;
  End?: boolean;
  Default?: string;
  Choices?: ChoiceRule[];
  Catch?: Catcher[];
  Branches?: Machine[];
  ItemProcessor?: Machine;
  Iterator?: Machine;
  [field: string]: unknown;
}

export interface Machine {
  StartAt: string;
  States: Record<string, StateDef>;
  [field: string]: unknown;
}

export const STATE_TYPES = ['Task', 'Pass', 'Choice', 'Wait', 'Parallel', 'Map', 'Succeed', 'Fail'] as const;

/** Types that end their scope and so take neither Next nor End. */
export const TERMINAL_TYPES = new Set(['Succeed', 'Fail']);

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The machine nested in a Map state: `ItemProcessor`, or the legacy `Iterator`. */
export function mapProcessor(state: StateDef): Machine | undefined {
  const p = state.ItemProcessor ?? state.Iterator;
  return isObject(p) ? (p as Machine) : undefined;
}

/** The JSON pointer segment for `key` (RFC 6901). */
export function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

export function parsePointer(pointer: string): string[] {
  if (!pointer) return [];
  return pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}
