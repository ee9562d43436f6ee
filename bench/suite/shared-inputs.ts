/**
 * What more than one section needs, made once per suite run: the image
 * sets on disk, a prepared gallery, and the compiled server.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { SuiteContext } from './section.js';

export interface ImageSets {
  /** Group photos plus one-face portraits: what the peers and facerec both get. */
  readonly peersDir: string;
  readonly peers: number;
  /** 640×480 one-face JPEGs. */
  readonly smallDir: string;
  readonly small: number;
}

export function imageSets(ctx: SuiteContext): Promise<ImageSets> {
  return ctx.once('images', async () => {
    const out = join(ctx.tmpDir, 'images');
    const counts = ctx.quick ? ['--group', '2', '--portraits', '4', '--small', '4'] : ['--group', '6', '--portraits', '16', '--small', '12'];
    const stdout = await ctx.tsx('writing the image sets', 'bench/suite/write-images.ts', ['--out', out, ...counts]);
    const written = JSON.parse(stdout) as { peers: number; small: number };
    return { peersDir: join(out, 'peers'), peers: written.peers, smallDir: join(out, 'small'), small: written.small };
  });
}

/** Where the store section keeps its galleries (bench:store --keep --dir), one n<size>/ folder each. */
export function storeRoot(ctx: SuiteContext): string {
  return join(ctx.tmpDir, 'store');
}

/**
 * A data directory holding `size` synthetic faces: the store section's own
 * when it ran first, else one built here with bench:store (a few queries
 * only). The caller may add to it; nothing reads it afterwards.
 */
export function gallery(ctx: SuiteContext, size: number): Promise<string> {
  return ctx.once(`gallery-${size}`, async () => {
    const dir = join(storeRoot(ctx), `n${size}`);
    if (existsSync(dir)) return dir;
    await ctx.tsx(`building a gallery of ${size} faces`, 'bench/store.ts', ['--sizes', String(size), '--queries', '100', '--keep', '--dir', storeRoot(ctx)]);
    return dir;
  });
}

/** `tsc -p tsconfig.json`, as `npm run bench:footprint` does first: the footprint runs the compiled server. */
export function compiled(ctx: SuiteContext): Promise<void> {
  return ctx.once('compiled', async () => {
    await ctx.node('compiling (tsc)', [join(ctx.root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json']);
  });
}
