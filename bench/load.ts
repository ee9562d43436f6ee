/**
 * Load generator: Recognize load on a facerec server over gRPC or REST,
 * closed loop (a set concurrency) or open loop (a set rate), with a mix of
 * one-face portraits, group photos and images without a face (see
 * load/inputs.ts). Prints throughput, latency percentiles and errors by
 * code; writes JSON and CSV.
 *
 *   npm run bench:load -- --target 127.0.0.1:50051 --concurrency 16 --duration 30
 *   npm run bench:load -- --protocol rest --target localhost:8080 --rate 40 --json out.json --csv out
 *   npm run bench:load -- --mix portrait=1 --requests 2000      (starts its own server)
 *   npm run bench:load -- --images photos/ --concurrency 8       (the files of a folder, in turn)
 *
 * Without --target it starts the server as a child process (its own event
 * loop, so this process does not steal its CPU time) and enrols a few
 * portraits, so Recognize searches a gallery. Run `-- --help` for every flag.
 */
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { FacePolicy } from '../src/gen/facerec/v1/facerec.js';
import { flagTable, UsageError } from '../src/cli/command.js';
import { call, startChildServer, type ChildServer } from './batching-server.js';
import { runLoad } from './load/drivers.js';
import { buildInputs, evenMix, folderInputs, INPUT_KINDS, mixer, type InputKind } from './load/inputs.js';
import { LOAD_OPTIONS, parseLoadOptions, type LoadOptions } from './load/options.js';
import { buildReport, csvFiles, summaryText } from './load/report.js';
import { round } from './load/recorder.js';
import { connectTarget, type LoadTarget } from './load/target.js';

/** Subjects the self-started server gets, so each Recognize searches a gallery. */
const ENROLLED_SUBJECTS = 4;

const USAGE = 'npm run bench:load -- [--target host:port] [--protocol grpc|rest] [--concurrency n | --rate req/s] [--duration s | --requests n] …';

function parseOrExit(argv: string[]): LoadOptions {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log([`usage: ${USAGE}`, '', 'flags:', ...flagTable(LOAD_OPTIONS)].join('\n'));
    process.exit(0);
  }
  try {
    return parseLoadOptions(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`bench:load: ${error.message}\nusage: ${USAGE}`);
    process.exit(2);
  }
}

const options = parseOrExit(process.argv.slice(2));
const progress = (line: string) => {
  if (!options.quiet) console.error(line);
};

let server: ChildServer | undefined;
let target: LoadTarget | undefined;
const stop = new AbortController();
const onSignal = () => {
  // First Ctrl-C: stop sending and report what was measured; a second one quits at once.
  if (stop.signal.aborted) void (server?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  stop.abort();
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

try {
  const startedAt = new Date();
  const loadAvgStart = loadavg().map((v) => round(v));
  let address = options.target;
  if (!address) {
    progress('starting a facerec server…');
    server = await startChildServer(options.protocol === 'rest' ? { FACEREC_SERVER__REST_ENABLED: 'true' } : {});
    const port = options.protocol === 'rest' ? server.ports.restPort : server.ports.grpcPort;
    if (port === undefined) throw new Error('the child server reported no REST port');
    address = { host: '127.0.0.1', port };
  }
  target = connectTarget({ ...address, protocol: options.protocol, timeoutS: options.timeoutS, ...(options.token ? { token: options.token } : {}) });
  progress(`making inputs with ${target.description}…`);
  const inputs = options.imagesDir ? await folderInputs(target, options.imagesDir) : await buildInputs(target, options.mix, options.portraits);
  const mix = options.imagesDir ? evenMix(inputs) : options.mix;
  if (server) {
    const client = server.client;
    // A portrait the enrolment policy refuses (a face turned too far, say) is
    // passed over: the gallery only has to hold a few subjects.
    let enrolled = 0;
    for (const image of inputs.portrait.length ? inputs.portrait : inputs.group) {
      if (enrolled === ENROLLED_SUBJECTS) break;
      const request = { subjectId: `load-${enrolled}`, image: image.bytes, payload: undefined, facePolicy: FacePolicy.FACE_POLICY_LARGEST };
      if (await call(client.enrollFace, client, request).then(() => true, () => false)) enrolled++;
    }
  }
  const counts = Object.fromEntries(INPUT_KINDS.map((k) => [k, inputs[k].length])) as Record<InputKind, number>;
  const what = options.mode.kind === 'closed' ? `concurrency ${options.mode.concurrency}` : `${options.mode.ratePerS} req/s`;
  progress(`inputs ${JSON.stringify(counts)}; ${what}, ${options.warmupS} s warm-up, then ${options.requests ? `${options.requests} requests (at most ${options.durationS} s)` : `${options.durationS} s`}…`);
  const run = await runLoad(target, {
    mode: options.mode,
    warmupS: options.warmupS,
    durationS: options.durationS,
    ...(options.requests ? { requests: options.requests } : {}),
    next: mixer(inputs, mix),
    stop: stop.signal,
  });
  const report = buildReport({
    target: target.description,
    protocol: options.protocol,
    selfStarted: server !== undefined,
    mode: options.mode,
    mix,
    inputs: counts,
    warmupS: options.warmupS,
    durationS: options.durationS,
    ...(options.requests ? { requests: options.requests } : {}),
    startedAt,
    loadAvgStart,
  }, run);
  console.log(summaryText(report));
  if (options.jsonPath) await writeFile(options.jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  if (options.csvPrefix) {
    for (const [suffix, text] of Object.entries(csvFiles(report))) await writeFile(`${options.csvPrefix}_${suffix}.csv`, text);
  }
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
} finally {
  target?.close();
  await server?.stop();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
}
