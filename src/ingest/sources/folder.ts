/**
 * A folder tree with one folder per subject, as LFW ships:
 * `<root>/<subject id>/<image>`. The subject's payload is `{ name }`, the
 * folder name with underscores read as spaces (`Aaron_Eckhart` → "Aaron Eckhart").
 */
import type { Dirent } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';

import { FacerecError } from '../../errors.js';
import type { IngestSource, SourceRecord } from '../source.js';

export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif', '.heic', '.heif']);

export function isImageFile(name: string): boolean {
  return IMAGE_EXTENSIONS.has(extname(name).toLowerCase());
}

/** Names of the entries that are (or link to) a directory or a file: photo sets are often trees of symlinks. */
async function filterByKind(dir: string, entries: readonly Dirent[], kind: 'directory' | 'file'): Promise<string[]> {
  const names: string[] = [];
  for (const entry of entries) {
    let isKind = kind === 'directory' ? entry.isDirectory() : entry.isFile();
    if (entry.isSymbolicLink()) {
      const target = await stat(join(dir, entry.name)).catch(() => undefined);
      isKind = target !== undefined && (kind === 'directory' ? target.isDirectory() : target.isFile());
    }
    if (isKind) names.push(entry.name);
  }
  return names;
}

export function openFolderSource(folder: string): IngestSource {
  const root = resolve(folder);

  async function subjects(): Promise<string[]> {
    try {
      const entries = await readdir(root, { withFileTypes: true });
      return (await filterByKind(root, entries, 'directory')).sort();
    } catch (error) {
      throw new FacerecError('INVALID_ARGUMENT', `cannot read folder ${folder}: ${(error as Error).message}`);
    }
  }

  // Other files and deeper folders are ignored: a stray README or thumbnail cache is not a photo.
  async function imagesOf(subjectId: string): Promise<string[]> {
    const entries = await readdir(join(root, subjectId), { withFileTypes: true });
    return (await filterByKind(join(root, subjectId), entries, 'file')).filter(isImageFile).sort();
  }

  return {
    identity: `folder:${root}`,
    async *records(): AsyncIterable<SourceRecord> {
      for (const subjectId of await subjects()) {
        const payload = { name: subjectId.replaceAll('_', ' ') };
        for (const file of await imagesOf(subjectId)) {
          const path = join(root, subjectId, file);
          yield { ref: path, subjectId, payload, image: () => readFile(path) };
        }
      }
    },
    async count(keep) {
      let total = 0;
      for (const subjectId of await subjects()) if (keep(subjectId)) total += (await imagesOf(subjectId)).length;
      return total;
    },
    close: async () => {},
  };
}
