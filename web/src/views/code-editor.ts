// The definition editor: CodeMirror 6 with JSON or YAML highlighting and a
// lint gutter for validation diagnostics.

import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { json } from '@codemirror/lang-json';
import { yaml } from '@codemirror/lang-yaml';
import { bracketMatching, foldGutter, indentOnInput, syntaxHighlighting, defaultHighlightStyle } from '@codemirror/language';
import { type Diagnostic, lintGutter, setDiagnostics } from '@codemirror/lint';
import { Compartment, EditorState } from '@codemirror/state';
import { EditorView, highlightActiveLine, highlightActiveLineGutter, keymap, lineNumbers } from '@codemirror/view';
import type { Format } from '../asl/text';

export type { Diagnostic };

export class CodeEditor {
  readonly view: EditorView;
  private readonly language = new Compartment();
  /** Set while the program replaces the text, so that change isn't taken for the user's. */
  private applying = false;

  constructor(parent: HTMLElement, text: string, format: Format, onChange: (text: string) => void) {
    this.view = new EditorView({
      parent,
      state: EditorState.create({
        doc: text,
        extensions: [
          lineNumbers(),
          highlightActiveLineGutter(),
          foldGutter(),
          lintGutter(),
          history(),
          indentOnInput(),
          bracketMatching(),
          highlightActiveLine(),
          syntaxHighlighting(defaultHighlightStyle),
          EditorView.lineWrapping,
          keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
          this.language.of(format === 'json' ? json() : yaml()),
          EditorView.updateListener.of((u) => {
            if (u.docChanged && !this.applying) onChange(u.state.doc.toString());
          }),
        ],
      }),
    });
  }

  get text(): string {
    return this.view.state.doc.toString();
  }

  /** Replaces the text without reporting it as an edit. */
  setText(text: string, format: Format): void {
    if (text === this.text) return;
    this.applying = true;
    this.view.dispatch({
      changes: { from: 0, to: this.view.state.doc.length, insert: text },
      effects: this.language.reconfigure(format === 'json' ? json() : yaml()),
    });
    this.applying = false;
  }

  setDiagnostics(diagnostics: Diagnostic[]): void {
    this.view.dispatch(setDiagnostics(this.view.state, diagnostics));
  }

  /** Moves the cursor to `offset` and scrolls it into view. */
  reveal(offset: number): void {
    const pos = Math.min(offset, this.view.state.doc.length);
    this.view.dispatch({ selection: { anchor: pos }, effects: EditorView.scrollIntoView(pos, { y: 'center' }) });
    this.view.focus();
  }

  lineOf(offset: number): number {
    return this.view.state.doc.lineAt(Math.min(offset, this.view.state.doc.length)).number;
  }
}
