// The table every fault-injection file keeps: each case counted under its group as one outcome, printed at the end.
//
// Outcomes: "clear" is the right answer (a clear error, or a correct result); "crash" any other exception, exit code or
// a 5xx for a client's mistake; "hang" a case over its time bound; "silent" a wrong answer given without a word (a
// damaged file that loaded, a hostile request that was served); "lost" data that is neither complete nor absent.

export type Outcome = 'clear' | 'crash' | 'hang' | 'silent' | 'lost';
const COLUMNS = ['tried', 'clear', 'crash', 'hang', 'silent', 'lost'] as const;

/** The outcomes of one fault-injection file, by group. */
export class Tally {
  private readonly rows = new Map<string, Record<Outcome | 'tried', number>>();
  /** Every case whose outcome was not `clear`, as `group: outcome: what`. */
  readonly problems: string[] = [];

  count(group: string, outcome: Outcome, what: string): void {
    const row = this.rows.get(group) ?? { tried: 0, clear: 0, crash: 0, hang: 0, silent: 0, lost: 0 };
    row.tried++;
    row[outcome]++;
    this.rows.set(group, row);
    if (outcome !== 'clear') this.problems.push(`${group}: ${outcome}: ${what}`);
  }

  /** The problems of the groups that start with `prefix`. */
  problemsOf(prefix: string): string[] {
    return this.problems.filter((p) => p.startsWith(prefix));
  }

  /** The table in Markdown, with a total row. */
  table(title: string): string {
    const lines = ['| case | tried | clear error | crash | hang | silent | lost |', '|---|---|---|---|---|---|---|'];
    const total = { tried: 0, clear: 0, crash: 0, hang: 0, silent: 0, lost: 0 };
    for (const [group, row] of this.rows) {
      lines.push(`| ${group} | ${COLUMNS.map((c) => row[c]).join(' | ')} |`);
      COLUMNS.forEach((c) => (total[c] += row[c]));
    }
    lines.push(`| **all** | ${COLUMNS.map((c) => `**${total[c]}**`).join(' | ')} |`);
    const shown = this.problems.length ? `\n${this.problems.slice(0, 40).join('\n')}\n` : '';
    return `\n${title}\n${lines.join('\n')}\n${shown}`;
  }
}
