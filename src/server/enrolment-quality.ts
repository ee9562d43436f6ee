/**
 * The enrolment quality gate. A gallery face is the reference every later
 * probe of that person is compared with, so a small, blurred or turned one
 * costs matches for as long as it stays enrolled; recognition takes such
 * faces as they come, enrolment refuses them with a code saying which limit
 * failed and by how much, so the client can send a better photo.
 *
 * Checks run cheapest first: size and yaw come from the face the pipeline
 * already returned, sharpness decodes the face's region again (see
 * `pipeline/face-quality.ts`), so a face that fails on size or yaw costs no
 * decode.
 */
import { FacerecError } from '../errors.js';
import { estimateYaw, faceSizePx, measureSharpness } from '../pipeline/face-quality.js';
import type { DetectedFace } from '../pipeline/types.js';

/** The `enrolment` config keys of the gate; 0 turns a check off. */
export interface EnrolmentQualitySettings {
  /** Shorter side of the face box, in the sent image's pixels, below which a face is refused (FACE_TOO_SMALL). */
  readonly minFaceSizePx: number;
  /** Sharpness score (`measureSharpness`) below which a face is refused (FACE_BLURRED). */
  readonly minSharpness: number;
  /** Estimated yaw (degrees either way) above which a face is refused (FACE_TURNED). */
  readonly maxYawDeg: number;
}

/** The image the face was found in: its bytes and its upright size, which the face's box refers to. */
export interface EnrolmentImage {
  readonly bytes: Uint8Array;
  readonly width: number;
  readonly height: number;
}

/** Rounded towards the limit's far side, so a refused value never prints as equal to its limit. */
const down = (value: number, digits: number) => Math.floor(value * 10 ** digits) / 10 ** digits;
const up = (value: number, digits: number) => Math.ceil(value * 10 ** digits) / 10 ** digits;

/** Throws FACE_TOO_SMALL, FACE_TURNED or FACE_BLURRED for the first limit the face fails; resolves when it passes them all. */
export async function checkEnrolmentQuality(image: EnrolmentImage, face: DetectedFace, settings: EnrolmentQualitySettings): Promise<void> {
  const sizePx = faceSizePx(face.box);
  if (settings.minFaceSizePx > 0 && sizePx < settings.minFaceSizePx) {
    throw new FacerecError('FACE_TOO_SMALL', `face is ${down(sizePx, 0)} px, enrolment needs at least ${settings.minFaceSizePx} px (shorter side of the face box); send a closer or larger photo`, {
      details: { faceSizePx: sizePx, minFaceSizePx: settings.minFaceSizePx },
    });
  }

  if (settings.maxYawDeg > 0) {
    // No five landmarks, no estimate: nothing to refuse on (the chosen face always has them, as it was embedded).
    const yaw = estimateYaw(face.landmarks);
    if (yaw !== undefined && Math.abs(yaw.yawDeg) > settings.maxYawDeg) {
      throw new FacerecError('FACE_TURNED', `face is turned about ${up(Math.abs(yaw.yawDeg), 0)}°, enrolment allows at most ${settings.maxYawDeg}°; send a photo facing the camera`, {
        details: { yawDeg: yaw.yawDeg, noseOffsetRatio: yaw.noseOffsetRatio, maxYawDeg: settings.maxYawDeg },
      });
    }
  }

  if (settings.minSharpness > 0) {
    const sharpness = await measureSharpness(image.bytes, face.box, image.width, image.height);
    if (sharpness < settings.minSharpness) {
      throw new FacerecError('FACE_BLURRED', `face sharpness is ${down(sharpness, 2)}, enrolment needs at least ${settings.minSharpness}; send a photo in focus`, {
        details: { sharpness, minSharpness: settings.minSharpness },
      });
    }
  }
}
