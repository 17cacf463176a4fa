/** The current view as a standalone SVG file: theme colours resolved and written onto each element. */

import { svgElement } from './draw';
import { ILayout } from './layout';

const PROPS = ['fill', 'fill-opacity', 'stroke', 'stroke-width', 'stroke-dasharray', 'font-family', 'font-size', 'font-weight', 'opacity'];
const PAD = 8;

export function exportSvg(svg: SVGSVGElement, viewport: SVGGElement, layout: ILayout, canvas: HTMLElement): string {
  const out = svgElement('svg', {
    xmlns: 'http://www.w3.org/2000/svg',
    width: Math.ceil(layout.width + 2 * PAD),
    height: Math.ceil(layout.height + 2 * PAD),
    viewBox: `0 0 ${Math.ceil(layout.width + 2 * PAD)} ${Math.ceil(layout.height + 2 * PAD)}`
  });
  svgElement('rect', { width: '100%', height: '100%', fill: getComputedStyle(canvas).backgroundColor }, out);
  const copy = viewport.cloneNode(true) as SVGGElement;
  copy.setAttribute('transform', `translate(${PAD},${PAD})`);
  const live = viewport.querySelectorAll('*');
  const copied = copy.querySelectorAll('*');
  live.forEach((el, i) => {
    const cs = getComputedStyle(el);
    const target = copied[i] as SVGElement;
    target.setAttribute('style', PROPS.map(p => `${p}:${cs.getPropertyValue(p)}`).join(';'));
    target.removeAttribute('class');
  });
  out.appendChild(copy);
  void svg;
  return '<?xml version="1.0" encoding="UTF-8"?>\n' + new XMLSerializer().serializeToString(out);
}
