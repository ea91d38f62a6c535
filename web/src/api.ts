// The Step Functions API client: awsJson1_0 over fetch. The same page works
// against `flowstate serve` (same origin, the default) or any deployed
// endpoint speaking the Step Functions API (set in the settings dialog or
// with `?api=<url>`; that endpoint must allow the page's origin by CORS).

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE';

export interface StateMachineListItem {
  stateMachineArn: string;
  name: string;
  type: 'STANDARD' | 'EXPRESS';
  creationDate: number;
}

export interface StateMachine extends StateMachineListItem {
  definition: string;
  roleArn: string;
}

export interface ExecutionListItem {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: ExecutionStatus;
  startDate: number;
  stopDate?: number;
}

export interface Execution extends ExecutionListItem {
  input?: string;
  output?: string;
  error?: string;
  cause?: string;
}

/** One GetExecutionHistory event; details stay loosely typed by design. */
export interface HistoryEvent {
  id: number;
  previousEventId: number;
  type: string;
  timestamp: number;
  [details: string]: unknown;
}

export interface Diagnostic {
  severity: 'ERROR' | 'WARNING';
  code: string;
  message: string;
  location?: string;
}

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const API_KEY = 'flowstate.api';
const ROLE_KEY = 'flowstate.roleArn';
const DEFAULT_ROLE_ARN = 'arn:aws:iam::123456789012:role/flowstate';

/** The API endpoint: `?api=` first (and remembered), then the saved setting, then this origin. */
export function apiBase(): string {
  const fromQuery = new URLSearchParams(location.search).get('api');
  if (fromQuery) localStorage.setItem(API_KEY, fromQuery);
  return localStorage.getItem(API_KEY) || new URL('/', location.href).href;
}

export function setApiBase(url: string): void {
  if (url.trim()) localStorage.setItem(API_KEY, url.trim());
  else localStorage.removeItem(API_KEY);
}

export function roleArn(): string {
  return localStorage.getItem(ROLE_KEY) || DEFAULT_ROLE_ARN;
}

export function setRoleArn(arn: string): void {
  if (arn.trim()) localStorage.setItem(ROLE_KEY, arn.trim());
  else localStorage.removeItem(ROLE_KEY);
}

export async function call<T>(action: string, body: object): Promise<T> {
  let response: Response;
  try {
    response = await fetch(apiBase(), {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-amz-json-1.0',
        'X-Amz-Target': `AWSStepFunctions.${action}`,
      },
      body: JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError('NetworkError', `cannot reach the API at ${apiBase()}: ${(e as Error).message}`);
  }
  const text = await response.text();
  let json: Record<string, unknown> = {};
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    throw new ApiError('InvalidResponse', `${action}: the API answered ${response.status} with a body that is not JSON`);
  }
  if (!response.ok) {
    // `__type` may carry a namespace prefix (`com.amazonaws...#Code`).
    const code = String(json.__type ?? `HTTP ${response.status}`).split('#').pop() ?? '';
    throw new ApiError(code, String(json.message ?? json.Message ?? text));
  }
  return json as T;
}

export async function listStateMachines(): Promise<StateMachineListItem[]> {
  const all: StateMachineListItem[] = [];
  let nextToken: string | undefined;
  do {
    const page = await call<{ stateMachines: StateMachineListItem[]; nextToken?: string }>('ListStateMachines', {
      maxResults: 1000,
      nextToken,
    });
    all.push(...page.stateMachines);
    nextToken = page.nextToken;
  } while (nextToken);
  return all;
}

export const describeStateMachine = (stateMachineArn: string) =>
  call<StateMachine>('DescribeStateMachine', { stateMachineArn });

export const createStateMachine = (name: string, definition: string, type: 'STANDARD' | 'EXPRESS') =>
  call<{ stateMachineArn: string }>('CreateStateMachine', { name, definition, type, roleArn: roleArn() });

export const updateStateMachine = (stateMachineArn: string, definition: string) =>
  call<object>('UpdateStateMachine', { stateMachineArn, definition });

export async function listExecutions(stateMachineArn: string, statusFilter?: ExecutionStatus): Promise<ExecutionListItem[]> {
  const page = await call<{ executions: ExecutionListItem[] }>('ListExecutions', {
    stateMachineArn,
    statusFilter,
    maxResults: 200,
  });
  return page.executions;
}

export const startExecution = (stateMachineArn: string, input: string, name?: string) =>
  call<{ executionArn: string }>('StartExecution', { stateMachineArn, input, name: name || undefined });

export const describeExecution = (executionArn: string) => call<Execution>('DescribeExecution', { executionArn });

export const describeStateMachineForExecution = (executionArn: string) =>
  call<StateMachine>('DescribeStateMachineForExecution', { executionArn });

export async function getExecutionHistory(executionArn: string): Promise<HistoryEvent[]> {
  const all: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await call<{ events: HistoryEvent[]; nextToken?: string }>('GetExecutionHistory', {
      executionArn,
      maxResults: 1000,
      nextToken,
    });
    all.push(...page.events);
    nextToken = page.nextToken;
  } while (nextToken);
  return all;
}

export const stopExecution = (executionArn: string, error?: string, cause?: string) =>
  call<object>('StopExecution', { executionArn, error: error || undefined, cause: cause || undefined });

export const sendTaskSuccess = (taskToken: string, output: string) =>
  call<object>('SendTaskSuccess', { taskToken, output });

export const sendTaskFailure = (taskToken: string, error: string, cause: string) =>
  call<object>('SendTaskFailure', { taskToken, error: error || undefined, cause: cause || undefined });

export async function validateDefinition(definition: string): Promise<Diagnostic[]> {
  const out = await call<{ diagnostics: Diagnostic[] }>('ValidateStateMachineDefinition', {
    definition,
    severity: 'WARNING',
  });
  return out.diagnostics;
}
