/**
 * The three recipes that turn the source models into the ones the pipeline
 * loads: a uint8 NHWC `image` input with the preprocessing inside the graph,
 * a dynamic batch axis, and tiny weights zeroed.
 *
 * Preprocessing runs as Transpose (on uint8, a quarter of the bytes) → Cast
 * → Sub → Mul. 1/128 and 1/256 are powers of two, so the Mul gives the same
 * bits as the Div the original preprocessing used.
 */
import type { ModelName } from './manifest.js';
import {
  DataType,
  decodeModel,
  dropValueInfo,
  encodeModel,
  fixReshapeBatch,
  floatTensor,
  graphOf,
  makeNode,
  replaceInput,
  renameOutput,
  setDynamicBatch,
  setMetadata,
  zeroTinyFloats,
  type NodeProto,
  type TensorProto,
} from './onnx-graph.js';

/** Bump when a recipe changes: `npm run models` rebuilds when this differs from models/build/manifest.json. */
export const RECIPE_VERSION = 3;

export interface Recipe {
  readonly name: ModelName;
  /** The source model's float NCHW input. */
  readonly sourceInput: string;
  /** Item shape of the new uint8 input, NHWC without the batch axis. */
  readonly imageDims: readonly [number, number, number];
  /** Subtracted before scaling; undefined for none. */
  readonly mean?: number;
  readonly scale: number;
  readonly renameOutputs: Readonly<Record<string, string>>;
}

export const RECIPES: Readonly<Record<ModelName, Recipe>> = {
  detector: { name: 'detector', sourceInput: 'input', imageDims: [240, 320, 3], mean: 127, scale: 1 / 128, renameOutputs: {} },
  landmarks: { name: 'landmarks', sourceInput: 'input', imageDims: [64, 64, 1], scale: 1 / 256, renameOutputs: { output: 'landmarks' } },
  embedder: { name: 'embedder', sourceInput: 'input', imageDims: [112, 112, 3], mean: 127, scale: 1 / 128, renameOutputs: { output: 'embedding' } },
};

export const DERIVED_INPUT = 'image';

export interface DeriveOptions {
  /** Zero weights with |w| below 1e-30 (default true); false exists so tests can compare. */
  readonly zeroTiny?: boolean;
  readonly sourceSha256?: string;
}

export interface DeriveReport {
  readonly zeroedWeights: number;
  readonly reshapesFixed: number;
}

export function deriveModel(source: Uint8Array, recipe: Recipe, options: DeriveOptions = {}): { bytes: Uint8Array; report: DeriveReport } {
  const model = decodeModel(source);
  const graph = graphOf(model);
  const zeroedWeights = options.zeroTiny === false ? 0 : zeroTinyFloats(graph);

  const { nodes, initializers } = preprocessing(recipe);
  replaceInput(graph, recipe.sourceInput, { name: DERIVED_INPUT, elemType: DataType.UINT8, dims: ['N', ...recipe.imageDims] }, nodes, initializers);
  for (const [from, to] of Object.entries(recipe.renameOutputs)) renameOutput(graph, from, to);
  setDynamicBatch(graph, 'N');
  const reshapesFixed = fixReshapeBatch(graph);
  dropValueInfo(graph);
  setMetadata(model, {
    'facerec.recipe': `${recipe.name}@${RECIPE_VERSION}`,
    ...(options.sourceSha256 ? { 'facerec.source_sha256': options.sourceSha256 } : {}),
  });
  return { bytes: encodeModel(model), report: { zeroedWeights, reshapesFixed } };
}

function preprocessing(recipe: Recipe): { nodes: NodeProto[]; initializers: TensorProto[] } {
  const p = 'facerec_pre/';
  const nodes: NodeProto[] = [
    makeNode('Transpose', [DERIVED_INPUT], [`${p}nchw_u8`], { perm: [0, 3, 1, 2] }),
    makeNode('Cast', [`${p}nchw_u8`], [`${p}nchw_f32`], { to: DataType.FLOAT }),
  ];
  const initializers: TensorProto[] = [floatTensor(`${p}scale`, [recipe.scale])];
  let current = `${p}nchw_f32`;
  if (recipe.mean !== undefined) {
    initializers.push(floatTensor(`${p}mean`, [recipe.mean]));
    nodes.push(makeNode('Sub', [current, `${p}mean`], [`${p}centred`]));
    current = `${p}centred`;
  }
  nodes.push(makeNode('Mul', [current, `${p}scale`], [recipe.sourceInput], {}, `${p}scaled`));
  return { nodes, initializers };
}
