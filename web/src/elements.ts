/**
 * Building the page out of elements and text nodes. This is the one way the app puts content on
 * the page: strings only ever become text nodes, so nothing a workflow, a step or a sender wrote
 * can turn into markup or script.
 */
import { statusClass } from './format.js';

type Child = Node | string | number | null | undefined | false;
type Attributes = Record<string, string | number | boolean | null | undefined>;

/** `el('td', {class: 'status'}, run.status)`; a false/null attribute is left out, true is present. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  setAttributes(node, attributes);
  append(node, ...children);
  return node;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** SVG for the graph's edges: geometry goes in attributes, which the CSP allows (inline styles it does not). */
export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attributes: Attributes = {}): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG_NS, tag);
  setAttributes(node, attributes);
  return node;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
}

function setAttributes(node: Element, attributes: Attributes): void {
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    // Event handler attributes would be inline script: refuse them outright.
    if (/^on/i.test(name)) throw new Error(`no inline handlers: ${name}`);
    node.setAttribute(name, value === true ? '' : String(value));
  }
}

/** Replace everything inside a node. */
export function fill(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}

/** A status as a badge: its text is the status, its class gives the colour. */
export function statusBadge(status: string, extraClass = ''): HTMLSpanElement {
  return el('span', { class: `badge ${statusClass(status)}${extraClass ? ` ${extraClass}` : ''}` }, status);
}

/** A time as `5m ago`, the exact time in its tooltip. */
export function timeCell(text: string, title: string): HTMLTimeElement {
  return el('time', { title }, text);
}
