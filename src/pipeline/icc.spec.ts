import { test } from 'node:test';
import assert from 'node:assert/strict';
import { iccDescription, isSrgbProfile } from './icc.js';

/** A minimal ICC profile: 128-byte header, one 'desc' tag holding `tag`. */
function profile(colourSpace: string, tag: Uint8Array): Uint8Array {
  const tagOffset = 132 + 12;
  const out = new Uint8Array(tagOffset + tag.length);
  const view = new DataView(out.buffer);
  const put = (offset: number, text: string) => [...text].forEach((c, i) => (out[offset + i] = c.charCodeAt(0)));
  put(16, colourSpace);
  put(36, 'acsp');
  view.setUint32(128, 1);
  put(132, 'desc');
  view.setUint32(136, tagOffset);
  view.setUint32(140, tag.length);
  out.set(tag, tagOffset);
  return out;
}

function v2Desc(text: string): Uint8Array {
  const out = new Uint8Array(12 + text.length + 1 + 16);
  [...'desc'].forEach((c, i) => (out[i] = c.charCodeAt(0)));
  new DataView(out.buffer).setUint32(8, text.length + 1);
  [...text].forEach((c, i) => (out[12 + i] = c.charCodeAt(0)));
  return out;
}

function v4Mluc(text: string): Uint8Array {
  const out = new Uint8Array(28 + text.length * 2);
  const view = new DataView(out.buffer);
  [...'mluc'].forEach((c, i) => (out[i] = c.charCodeAt(0)));
  view.setUint32(8, 1);
  view.setUint32(12, 12);
  view.setUint32(20, text.length * 2);
  view.setUint32(24, 28);
  [...text].forEach((c, i) => view.setUint16(28 + 2 * i, c.charCodeAt(0)));
  return out;
}

test('reads ICC v2 and v4 descriptions', () => {
  assert.equal(iccDescription(profile('RGB ', v2Desc('sRGB IEC61966-2.1'))), 'sRGB IEC61966-2.1');
  assert.equal(iccDescription(profile('RGB ', v4Mluc('sRGB built-in'))), 'sRGB built-in');
});

test('only RGB profiles named sRGB count as sRGB', () => {
  assert.equal(isSrgbProfile(profile('RGB ', v2Desc('sRGB IEC61966-2.1'))), true);
  assert.equal(isSrgbProfile(profile('RGB ', v4Mluc('sRGB v4 ICC preference'))), true);
  assert.equal(isSrgbProfile(profile('RGB ', v2Desc('Adobe RGB (1998)'))), false);
  assert.equal(isSrgbProfile(profile('CMYK', v2Desc('sRGB'))), false);
});

test('malformed or truncated profiles are not sRGB', () => {
  assert.equal(isSrgbProfile(new Uint8Array(10)), false);
  const good = profile('RGB ', v2Desc('sRGB IEC61966-2.1'));
  assert.equal(isSrgbProfile(good.subarray(0, 140)), false);
  const noMagic = good.slice();
  noMagic[36] = 0;
  assert.equal(isSrgbProfile(noMagic), false);
});
