/** Gallery management: list, get, update (rename), delete subjects and faces. */
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { FacerecError } from '../errors.js';
import type {
  DeleteFaceRequest,
  DeleteFaceResponse,
  DeleteSubjectRequest,
  DeleteSubjectResponse,
  GetSubjectRequest,
  ListSubjectsRequest,
  ListSubjectsResponse,
  Subject,
  UpdateSubjectRequest,
} from '../gen/facerec/v1/facerec.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../store/validate.js';
import type { VectorStore } from '../store/vector-store.js';
import { unary, type CallHooks } from './call-context.js';

export interface SubjectHandlerOptions {
  readonly store: VectorStore;
  readonly hooks: CallHooks;
}

function required(field: string, value: string): string {
  if (value.length === 0) throw new FacerecError('INVALID_ARGUMENT', `${field} is required`);
  return value;
}

export function createSubjectHandlers({ store, hooks }: SubjectHandlerOptions): UntypedServiceImplementation {
  async function getSubject(subjectId: string): Promise<Subject> {
    const subject = await store.getSubject(required('subject_id', subjectId));
    return { subjectId: subject.subjectId, payload: { ...subject.payload }, faceCount: subject.faceCount, faceIds: subject.faces.map((face) => face.faceId) };
  }

  return {
    listSubjects: unary<ListSubjectsRequest, ListSubjectsResponse>('ListSubjects', hooks, async (request) => {
      if (request.pageSize > MAX_PAGE_SIZE) throw new FacerecError('INVALID_ARGUMENT', `page_size ${request.pageSize} is above the maximum ${MAX_PAGE_SIZE}`);
      const [page, stats] = await Promise.all([
        store.listSubjects({ limit: request.pageSize || DEFAULT_PAGE_SIZE, pageToken: request.pageToken || undefined }),
        store.stats(),
      ]);
      return {
        subjects: page.subjects.map((s) => ({ subjectId: s.subjectId, payload: { ...s.payload }, faceCount: s.faceCount, faceIds: [] })),
        nextPageToken: page.nextPageToken ?? '',
        totalSize: stats.subjectCount,
      };
    }),

    getSubject: unary<GetSubjectRequest, Subject>('GetSubject', hooks, (request) => getSubject(request.subjectId)),

    updateSubject: unary<UpdateSubjectRequest, Subject>('UpdateSubject', hooks, async (request) => {
      await store.updateSubject(required('subject_id', request.subjectId), request.payload ?? {});
      return getSubject(request.subjectId);
    }),

    deleteSubject: unary<DeleteSubjectRequest, DeleteSubjectResponse>('DeleteSubject', hooks, async (request) => {
      const deletedFaces = await store.deleteSubject(required('subject_id', request.subjectId));
      return { subjectId: request.subjectId, deletedFaces };
    }),

    deleteFace: unary<DeleteFaceRequest, DeleteFaceResponse>('DeleteFace', hooks, async (request) => {
      const faceId = required('face_id', request.faceId);
      if (request.subjectId) {
        const face = await store.getFace(faceId);
        if (face.subjectId !== request.subjectId) throw new FacerecError('FACE_NOT_FOUND', `${faceId} does not belong to subject ${request.subjectId}`);
      }
      await store.deleteFace(faceId);
      return { faceId };
    }),
  };
}
