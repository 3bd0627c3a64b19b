import type { z } from 'zod';
import type { ConfigProblem } from '../../errors.js';
import { didYouMean, maskKey } from './messages.js';

// Turns zod's issues into ConfigProblems: one per field to fix, each with a readable path. Three kinds of
// issue need more than a copy: a union names the alternative the value was meant for, a bad record key
// carries its own issues, and unknown fields come as one issue per object, listed here field by field.

type Issue = z.core.$ZodIssue;
type Path = readonly PropertyKey[];

/** Every problem in zod's issues, in order and without repeats; `schema` is the one that raised them. */
export function toProblems(issues: readonly Issue[], schema: z.ZodType): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const seen = new Set<string>();
  const add = (path: Path, message: string) => {
    const problem = { path: formatPath(path), message };
    const id = `${problem.path}\u0000${message}`;
    if (!seen.has(id)) {
      seen.add(id);
      problems.push(problem);
    }
  };
  const visit = (issue: Issue, prefix: Path) => {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'invalid_union') {
      // The alternatives whose kind matched the value (an array for a list of rates, an object for a header
      // source): when exactly one did, its own problems are the precise ones.
      const meant = issue.errors.filter((branch) => !branch.some(rejectsKind));
      if (meant.length === 1) {
        for (const inner of meant[0]!) visit(inner, path);
        return;
      }
    } else if (issue.code === 'invalid_key') {
      for (const inner of issue.issues) visit(inner, path);
      return;
    } else if (issue.code === 'unrecognized_keys') {
      const known = fieldsAt(schema, path);
      for (const key of issue.keys) {
        add([...path, key], `no such field${didYouMean(key, known)}; known fields: ${known.join(', ')}`);
      }
      return;
    }
    add(path, issue.message);
  };
  for (const issue of issues) visit(issue, []);
  return problems;
}

const rejectsKind = (issue: Issue) =>
  issue.path.length === 0 && (issue.code === 'invalid_type' || issue.code === 'invalid_value');

const PLAIN = /^[A-Za-z_$][\w$-]*$/;

/**
 * A path as problems show it: `tiers.free.rate`, `rules[1].match.path`, `tiers["my tier"]`. Names in
 * `keys` are API keys, secrets, so they are masked (`keys["demo…"]`).
 */
export function formatPath(path: Path): string {
  let out = '';
  path.forEach((segment, i) => {
    if (typeof segment === 'number') out += `[${segment}]`;
    else {
      const text = String(segment);
      if (i === 1 && path[0] === 'keys') out += `[${JSON.stringify(maskKey(text))}]`;
      else if (PLAIN.test(text)) out += out ? `.${text}` : text;
      else out += `[${JSON.stringify(text)}]`;
    }
  });
  return out;
}

// zod's definitions, as far as this walk reads them.
interface Def {
  type: string;
  innerType?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  valueType?: z.ZodType;
  element?: z.ZodType;
  options?: readonly z.ZodType[];
}

const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** The schema under its optional and default wrappers. */
function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (let def = defOf(s); def.innerType; def = defOf(s)) s = def.innerType;
  return s;
}

/** The object schema a value at `path` is checked against (the object alternative of a union). */
function objectAt(schema: z.ZodType, path: Path): Def | undefined {
  let defs: Def[] = [defOf(unwrap(schema))];
  for (const segment of path) {
    defs = defs
      .flatMap((d) => (d.type === 'union' ? (d.options ?? []).map((o) => defOf(unwrap(o))) : [d]))
      .map((d) => (d.type === 'object' ? d.shape?.[String(segment)] : (d.valueType ?? d.element)))
      .filter((s): s is z.ZodType => s !== undefined)
      .map((s) => defOf(unwrap(s)));
  }
  return defs
    .flatMap((d) => (d.type === 'union' ? (d.options ?? []).map((o) => defOf(unwrap(o))) : [d]))
    .find((d) => d.type === 'object');
}

/** The field names of the object at `path`, for "known fields" and "did you mean". */
function fieldsAt(schema: z.ZodType, path: Path): string[] {
  return Object.keys(objectAt(schema, path)?.shape ?? {});
}
