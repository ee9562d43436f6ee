/** Plain data types the pipeline returns; nothing here knows about models or gRPC. */

export interface Point {
  readonly x: number;
  readonly y: number;
}

/** Corner-form box in the upright image's pixels. */
export interface FaceBox {
  readonly x1: number;
  readonly y1: number;
  readonly x2: number;
  readonly y2: number;
}

/** A decoded image: 8-bit sRGB, 3 channels, rows top to bottom, EXIF orientation applied. */
export interface RgbImage {
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
}

export interface Detection {
  readonly box: FaceBox;
  readonly score: number;
}

export interface DetectedFace extends Detection {
  /**
   * Left eye, right eye (as seen in the image), nose tip, left and right mouth
   * corner; empty for a face beyond `maxFacesPerImage`, which gets no model work.
   */
  readonly landmarks: readonly Point[];
  /** L2-normalised 512-d embedding; absent when the face is smaller than `minFaceSizePx` or beyond `maxFacesPerImage`. */
  readonly embedding?: Float32Array;
}

export interface PipelineResult {
  /** Size of the upright image the boxes and landmarks refer to. */
  readonly width: number;
  readonly height: number;
  /** Faces in detector score order, highest first. Empty when there is no face. */
  readonly faces: readonly DetectedFace[];
}

export function boxWidth(box: FaceBox): number {
  return box.x2 - box.x1;
}

export function boxHeight(box: FaceBox): number {
  return box.y2 - box.y1;
}
