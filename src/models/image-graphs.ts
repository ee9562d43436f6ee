/**
 * Two small ONNX graphs that do the per-face image work the pipeline used
 * to hand to libvips: the landmark model's 64×64 grey crop and the 112×112
 * ArcFace warp. libvips spent 1.2 and 1.5 ms of CPU on these 64×64 and
 * 112×112 outputs (most of it fixed cost per call); ONNX Runtime does the
 * same arithmetic in 0.16 and 0.37 ms. Both take the face's neighbourhood,
 * cut out of the decoded image by row copies, as uint8 NHWC of any size,
 * and give uint8 NHWC, the input of the (batched) landmark and embedding
 * models.
 *
 * Building these graphs by hand departs from using a well-kept library
 * (sharp) for image work: the library was correct, but its fixed cost per
 * call made it the largest per-face cost after the models. Writing the two
 * graphs keeps the pixels off the event loop and in the runtime that is
 * already loaded, at the price of the parity tests below.
 *
 * They mirror what libvips computed, so outputs stay within rounding of
 * the sharp versions (src/pipeline/image-ops.spec.ts, align.spec.ts):
 * - crop: `resize(64, 64, { kernel: 'linear' })` is a triangle filter
 *   widened by the shrink factor (ONNX Resize, linear, antialias), rounded
 *   to uint8; `greyscale()` is luminance in linear light, sRGB-encoded again.
 * - warp: `affine` with the bilinear interpolator is GridSample (bilinear,
 *   zeros outside) on a grid that the caller's 2×3 matrix maps from output
 *   pixel centres to the region's normalised coordinates.
 */
import type { ImageGraphName } from './manifest.js';
import { DataType, floatTensor, int64Tensor, makeModel, makeNode, type ModelProto } from './onnx-graph.js';

export const IMAGE_GRAPH_OPSET = 18;
export const LANDMARK_CROP_SIZE = 64;
export const WARP_SIZE = 112;
export const DETECTOR_INPUT_WIDTH = 320;
export const DETECTOR_INPUT_HEIGHT = 240;

/** sRGB transfer function, as libvips applies it for 8-bit images. */
function srgbToLinear(v: number): number {
  const c = v / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

const u8 = (name: string, dims: (number | string)[]) => ({ name, elemType: DataType.UINT8, dims });

/** Float pixels rounded and clamped to 0…255, then stored as uint8; the graph holds the `zero` and `max_u8` constants. */
function roundToUint8(input: string, output: string) {
  return [
    makeNode('Round', [input], [`${output}_rounded`]),
    makeNode('Clip', [`${output}_rounded`, 'zero', 'max_u8'], [`${output}_clipped`]),
    makeNode('Cast', [`${output}_clipped`], [output], { to: DataType.UINT8 }),
  ];
}

/** `region` [1, h, w, 3] uint8 RGB → `crop` [1, 64, 64, 1] uint8 grey. */
export function landmarkCropGraph(): ModelProto {
  const s = LANDMARK_CROP_SIZE;
  const nodes = [
    makeNode('Cast', ['region'], ['region_f'], { to: DataType.FLOAT }),
    makeNode('Resize', ['region_f', '', '', 'sizes'], ['small'], { mode: 'linear', antialias: 1 }),
    makeNode('Round', ['small'], ['small_r']),
    makeNode('Clip', ['small_r', 'zero', 'max_u8'], ['small_u8_f']),
    makeNode('Cast', ['small_u8_f'], ['small_idx'], { to: DataType.INT32 }),
    makeNode('Gather', ['srgb_to_linear', 'small_idx'], ['linear']),
    makeNode('Mul', ['linear', 'luma'], ['luma_parts']),
    makeNode('ReduceSum', ['luma_parts', 'channel_axis'], ['y'], { keepdims: 1 }),
    // sRGB encoding: 12.92·y near black, 1.055·y^(1/2.4) − 0.055 above.
    makeNode('Less', ['y', 'knee'], ['dark']),
    makeNode('Mul', ['y', 'slope'], ['y_dark']),
    makeNode('Pow', ['y', 'inv_gamma'], ['y_pow']),
    makeNode('Mul', ['y_pow', 'scale_lit'], ['y_pow_scaled']),
    makeNode('Sub', ['y_pow_scaled', 'offset_lit'], ['y_lit']),
    makeNode('Where', ['dark', 'y_dark', 'y_lit'], ['grey01']),
    makeNode('Mul', ['grey01', 'max_u8'], ['grey']),
    ...roundToUint8('grey', 'crop'),
  ];
  const initializers = [
    int64Tensor('sizes', [1, s, s, 3]),
    int64Tensor('channel_axis', [3]),
    floatTensor('srgb_to_linear', Array.from({ length: 256 }, (_, v) => srgbToLinear(v)), [256]),
    floatTensor('luma', [0.2126, 0.7152, 0.0722], [3]),
    floatTensor('knee', [0.0031308]),
    floatTensor('slope', [12.92]),
    floatTensor('inv_gamma', [1 / 2.4]),
    floatTensor('scale_lit', [1.055]),
    floatTensor('offset_lit', [0.055]),
    floatTensor('zero', [0]),
    floatTensor('max_u8', [255]),
  ];
  return makeModel('facerec_landmark_crop', IMAGE_GRAPH_OPSET, {
    inputs: [u8('region', [1, 'h', 'w', 3])],
    outputs: [u8('crop', [1, s, s, 1])],
    nodes,
    initializers,
  });
}

/**
 * `region` [1, h, w, 3] uint8 RGB and `theta` [1, 3, 2] float → `aligned`
 * [1, 112, 112, 3] uint8. Output pixel (u, v) samples the region at
 * [u, v, 1] · theta, in GridSample's normalised coordinates
 * (align_corners 0: −1 and 1 are the outer edges of the border pixels).
 */
export function faceWarpGraph(): ModelProto {
  const s = WARP_SIZE;
  const homogeneous = new Float32Array(s * s * 3);
  for (let v = 0; v < s; v++) {
    for (let u = 0; u < s; u++) homogeneous.set([u, v, 1], (v * s + u) * 3);
  }
  const nodes = [
    makeNode('Transpose', ['region'], ['region_nchw'], { perm: [0, 3, 1, 2] }),
    makeNode('Cast', ['region_nchw'], ['region_f'], { to: DataType.FLOAT }),
    makeNode('MatMul', ['output_pixels', 'theta'], ['grid_flat']),
    makeNode('Reshape', ['grid_flat', 'grid_shape'], ['grid']),
    makeNode('GridSample', ['region_f', 'grid'], ['warped'], { mode: 'bilinear', padding_mode: 'zeros', align_corners: 0 }),
    makeNode('Transpose', ['warped'], ['warped_nhwc'], { perm: [0, 2, 3, 1] }),
    ...roundToUint8('warped_nhwc', 'aligned'),
  ];
  return makeModel('facerec_face_warp', IMAGE_GRAPH_OPSET, {
    inputs: [u8('region', [1, 'h', 'w', 3]), { name: 'theta', elemType: DataType.FLOAT, dims: [1, 3, 2] }],
    outputs: [u8('aligned', [1, s, s, 3])],
    nodes,
    initializers: [
      floatTensor('output_pixels', homogeneous, [1, s * s, 3]),
      int64Tensor('grid_shape', [1, s, s, 2]),
      floatTensor('zero', [0]),
      floatTensor('max_u8', [255]),
    ],
  });
}

/**
 * `image` [1, h, w, 3] uint8 RGB → `resized` [1, 240, 320, 3] uint8: the
 * detector's input, as sharp's `resize(320, 240, { fit: 'fill', kernel:
 * 'linear' })` gives it (a triangle filter widened by the shrink factor).
 */
export function detectorInputGraph(): ModelProto {
  const nodes = [
    makeNode('Cast', ['image'], ['image_f'], { to: DataType.FLOAT }),
    makeNode('Resize', ['image_f', '', '', 'sizes'], ['resized_f'], { mode: 'linear', antialias: 1 }),
    ...roundToUint8('resized_f', 'resized'),
  ];
  return makeModel('facerec_detector_input', IMAGE_GRAPH_OPSET, {
    inputs: [u8('image', [1, 'h', 'w', 3])],
    outputs: [u8('resized', [1, DETECTOR_INPUT_HEIGHT, DETECTOR_INPUT_WIDTH, 3])],
    nodes,
    initializers: [int64Tensor('sizes', [1, DETECTOR_INPUT_HEIGHT, DETECTOR_INPUT_WIDTH, 3]), floatTensor('zero', [0]), floatTensor('max_u8', [255])],
  });
}

export const IMAGE_GRAPHS: Readonly<Record<ImageGraphName, () => ModelProto>> = {
  landmarkCrop: landmarkCropGraph,
  faceWarp: faceWarpGraph,
  detectorInput: detectorInputGraph,
};
