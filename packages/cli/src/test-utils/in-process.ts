import { Writable } from 'node:stream';
import { main } from '../main.js';

/** A stream that keeps what is written to it; not a TTY, like a pipe or a CI log. */
export class Collect extends Writable {
  text = '';
  readonly isTTY = false;
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

/** Runs `lth <args>` in-process and returns its exit code and output. */
export async function lth(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new Collect();
  const stderr = new Collect();
  const code = await main(['node', 'lth', ...args], { stdout, stderr: stderr as unknown as NodeJS.WriteStream });
  return { code, stdout: stdout.text, stderr: stderr.text };
}
