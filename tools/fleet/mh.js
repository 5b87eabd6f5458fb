/* A small T.4 Modified Huffman (1-D) page decoder for the fleet page's thumbnails
 * (docs/fleet.md). A page is the raw fax/page/<id>/<n> payload: MSB-first, EOL before each
 * line, RTC at the end (ITU-T T.4 4.1). Lines that do not add up to the width are bad and
 * drawn as a copy of the line above, as a fax machine prints them.
 *
 * MH_CODES: the code words of T.4 Tables 2/T.4 and 3/T.4 in transmission order, run length
 * after run length (terminating 0..63, make-up 64..1728 step 64, extended make-up 1792..2560
 * step 64); the same strings as firmware/faxbridge/core/fax/mhcodes.py, which
 * host_tests/host/test_fleet_page.py checks. */
"use strict";

const MH_CODES = {
  wt: "00110101 000111 0111 1000 1011 1100 1110 1111 10011 10100 00111 01000 001000 000011 110100 110101 101010 101011 0100111 0001100 0001000 0010111 0000011 0000100 0101000 0101011 0010011 0100100 0011000 00000010 00000011 00011010 00011011 00010010 00010011 00010100 00010101 00010110 00010111 00101000 00101001 00101010 00101011 00101100 00101101 00000100 00000101 00001010 00001011 01010010 01010011 01010100 01010101 00100100 00100101 01011000 01011001 01011010 01011011 01001010 01001011 00110010 00110011 00110100",
  bt: "0000110111 010 11 10 011 0011 0010 00011 000101 000100 0000100 0000101 0000111 00000100 00000111 000011000 0000010111 0000011000 0000001000 00001100111 00001101000 00001101100 00000110111 00000101000 00000010111 00000011000 000011001010 000011001011 000011001100 000011001101 000001101000 000001101001 000001101010 000001101011 000011010010 000011010011 000011010100 000011010101 000011010110 000011010111 000001101100 000001101101 000011011010 000011011011 000001010100 000001010101 000001010110 000001010111 000001100100 000001100101 000001010010 000001010011 000000100100 000000110111 000000111000 000000100111 000000101000 000001011000 000001011001 000000101011 000000101100 000001011010 000001100110 000001100111",
  wm: "11011 10010 010111 0110111 00110110 00110111 01100100 01100101 01101000 01100111 011001100 011001101 011010010 011010011 011010100 011010101 011010110 011010111 011011000 011011001 011011010 011011011 010011000 010011001 010011010 011000 010011011",
  bm: "0000001111 000011001000 000011001001 000001011011 000000110011 000000110100 000000110101 0000001101100 0000001101101 0000001001010 0000001001011 0000001001100 0000001001101 0000001110010 0000001110011 0000001110100 0000001110101 0000001110110 0000001110111 0000001010010 0000001010011 0000001010100 0000001010101 0000001011010 0000001011011 0000001100100 0000001100101",
  xm: "00000001000 00000001100 00000001101 000000010010 000000010011 000000010100 000000010101 000000010110 000000010111 000000011100 000000011101 000000011110 000000011111"
};

/* code (length << 16 | value, first bit most significant) -> run length, per colour */
function mhTables() {
  const t = [new Map(), new Map()];
  const add = (colour, words, first, step) => words.split(" ").forEach((w, i) =>
    t[colour].set((w.length << 16) | parseInt(w, 2), first + i * step));
  add(0, MH_CODES.wt, 0, 1); add(1, MH_CODES.bt, 0, 1);
  add(0, MH_CODES.wm, 64, 64); add(1, MH_CODES.bm, 64, 64);
  add(0, MH_CODES.xm, 1792, 64); add(1, MH_CODES.xm, 1792, 64);
  return t;
}

/* Decode a page: {width, rows: [Uint8Array of width, 1 = black], bad}. */
function mhDecode(bytes, width) {
  const tabs = mhTables();
  const nbits = bytes.length * 8;
  let pos = 0;
  const bit = () => (bytes[pos >> 3] >> (7 - (pos++ & 7))) & 1;
  const rows = [];
  let bad = 0;
  /* to just past the next EOL (11 or more zeros, then a one): false at the end */
  function toEol() {
    let zeros = 0;
    while (pos < nbits) {
      if (bit()) { if (zeros >= 11) return true; zeros = 0; } else zeros++;
    }
    return false;
  }
  /* one line after its EOL: the row, or null (bad line; pos is left where it went wrong) */
  function line() {
    const row = new Uint8Array(width);
    let x = 0, colour = 0;
    while (x < width) {
      let code = 0, len = 0, run = -1;
      while (len < 13 && pos < nbits) {
        code = (code << 1) | bit(); len++;
        const r = tabs[colour].get((len << 16) | code);
        if (r !== undefined) { run = r; break; }
      }
      if (run < 0 || x + run > width) return null;
      if (colour) row.fill(1, x, x + run);
      x += run;
      if (run < 64) colour ^= 1;
    }
    return row;
  }
  if (!toEol()) return { width, rows, bad };
  let empty = 0;
  while (pos < nbits && empty < 5) {
    const start = pos;
    /* an EOL right away: an empty line (part of RTC, six EOLs in a row) */
    let zeros = 0, p = pos;
    while (p < nbits && !((bytes[p >> 3] >> (7 - (p & 7))) & 1) && zeros < 12) { zeros++; p++; }
    if (zeros >= 11 && p < nbits) { pos = p + 1; empty++; continue; }
    empty = 0;
    pos = start;
    const row = line();
    if (row) rows.push(row);
    else { bad++; rows.push(rows.length ? rows[rows.length - 1] : new Uint8Array(width)); }
    if (!toEol()) break;
  }
  return { width, rows, bad };
}

/* The decoded page drawn 1:1 on a canvas (the page's CSS scales it to a thumbnail). */
function mhCanvas(bytes, width) {
  const page = mhDecode(bytes, width);
  const c = document.createElement("canvas");
  c.width = width;
  c.height = Math.max(1, page.rows.length);
  const ctx = c.getContext("2d");
  const img = ctx.createImageData(c.width, c.height);
  const d = img.data;
  page.rows.forEach((row, y) => {
    for (let x = 0, i = y * width * 4; x < width; x++, i += 4) {
      const v = row[x] ? 0 : 255;
      d[i] = d[i + 1] = d[i + 2] = v; d[i + 3] = 255;
    }
  });
  ctx.putImageData(img, 0, 0);
  c.dataset.lines = page.rows.length;
  c.dataset.bad = page.bad;
  return c;
}

if (typeof module !== "undefined") module.exports = { MH_CODES, mhDecode };
