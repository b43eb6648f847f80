/// <reference lib="dom" />
// The only way the client builds DOM: elements and text nodes. Data (job titles, outputs, file names) is
// always set as text or as an attribute value, never parsed as HTML, so user data cannot inject markup.

type Child = Node | string | number | null | undefined | false;
type Attributes = Record<string, string | number | boolean | null | undefined>;

/** An element with attributes (`false`/`null`/`undefined` omitted, `true` as an empty value) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    element.setAttribute(name, value === true ? '' : String(value));
  }
  append(element, ...children);
  return element;
}

/** Appends children; strings and numbers become text nodes. */
export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

/** Replaces every child of `parent`. */
export function replace(parent: Node, ...children: Child[]): void {
  while (parent.firstChild) parent.removeChild(parent.firstChild);
  append(parent, ...children);
}

/** A table: a caption, header cells and rows of cells (a cell may carry attributes). */
export interface TableCell {
  content: Child;
  attributes?: Attributes;
  header?: boolean;
}

export function table(
  caption: string,
  headers: readonly string[],
  rows: ReadonlyArray<ReadonlyArray<Child | TableCell>>,
  attributes: Attributes = {},
): HTMLTableElement {
  const cell = (value: Child | TableCell) => {
    if (value !== null && typeof value === 'object' && 'content' in value) {
      return h(
        value.header ? 'th' : 'td',
        { ...(value.header ? { scope: 'row' } : {}), ...value.attributes },
        value.content,
      );
    }
    return h('td', {}, value);
  };
  return h(
    'table',
    attributes,
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, ...headers.map((name) => h('th', { scope: 'col' }, name)))),
    h('tbody', {}, ...rows.map((row) => h('tr', {}, ...row.map(cell)))),
  );
}
