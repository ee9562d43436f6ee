import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRoutes, matchRoute } from './routes.js';
import { FACEREC_SERVICE, httpRulesOf, loadDescriptorRegistry, type HttpRule, type HttpVerb } from './descriptor.js';

// Only the template and verb matter to the matcher; the method is a label.
const rule = (verb: HttpVerb, pathTemplate: string, name: string): HttpRule => ({ verb, pathTemplate, body: '', method: { name } as HttpRule['method'] });
const nameOf = (m: ReturnType<typeof matchRoute>) => (m.kind === 'found' ? m.rule.method.name : m.kind);

test('literal, single-segment, multi-segment and verb-suffix templates', () => {
  const routes = compileRoutes([
    rule('GET', '/', 'Root'),
    rule('GET', '/v1/subjects/{subject_id}', 'Get'),
    rule('DELETE', '/v1/subjects/{subject_id}/faces/{face_id}', 'DeleteFace'),
    rule('GET', '/v1/files/{name=**}', 'File'),
    rule('POST', '/v1/{name=things/*}:run', 'Run'),
    rule('GET', '/v1/any/*/x', 'Wild'),
  ]);
  assert.equal(nameOf(matchRoute(routes, 'GET', '/')), 'Root');
  const get = matchRoute(routes, 'GET', '/v1/subjects/a%2Fb');
  assert.deepEqual(get.kind === 'found' && get.bindings, { subject_id: 'a/b' });
  const del = matchRoute(routes, 'DELETE', '/v1/subjects/s1/faces/f1');
  assert.deepEqual(del.kind === 'found' && del.bindings, { subject_id: 's1', face_id: 'f1' });
  const file = matchRoute(routes, 'GET', '/v1/files/a/b/c.jpg');
  assert.deepEqual(file.kind === 'found' && file.bindings, { name: 'a/b/c.jpg' });
  assert.equal(nameOf(matchRoute(routes, 'POST', '/v1/things:run')), 'Run');
  assert.equal(nameOf(matchRoute(routes, 'GET', '/v1/any/zz/x')), 'Wild');
  assert.equal(nameOf(matchRoute(routes, 'GET', '/v1/subjects')), 'not-found');
  assert.equal(nameOf(matchRoute(routes, 'GET', '/v1/subjects/a/b')), 'not-found');
  assert.deepEqual(matchRoute(routes, 'POST', '/v1/subjects/a'), { kind: 'method-not-allowed', allowed: ['GET'] });
});

test('the descriptor yields a route for every HTTP rule of FaceRecognition', () => {
  const rules = httpRulesOf(loadDescriptorRegistry('envoy/descriptor.pb'), FACEREC_SERVICE);
  const routes = compileRoutes(rules);
  const cases: [HttpVerb, string, string][] = [
    ['GET', '/', 'GetInfo'],
    ['POST', '/base64', 'Recognize'],
    ['POST', '/uploadfile', 'RecognizeUpload'],
    ['POST', '/v1/detect', 'Detect'],
    ['POST', '/v1/verify', 'Verify'],
    ['GET', '/v1/subjects', 'ListSubjects'],
    ['GET', '/v1/subjects/x', 'GetSubject'],
    ['PATCH', '/v1/subjects/x', 'UpdateSubject'],
    ['DELETE', '/v1/subjects/x', 'DeleteSubject'],
    ['POST', '/v1/subjects/x/faces', 'EnrollFace'],
    ['DELETE', '/v1/subjects/x/faces/y', 'DeleteFace'],
    ['GET', '/v1/review/faces', 'ListReviewFaces'],
    ['POST', '/v1/review/faces/r1:enroll', 'EnrollReviewFace'],
    ['DELETE', '/v1/review/faces/r1', 'DeleteReviewFace'],
    ['DELETE', '/v1/review/faces', 'DeleteAllReviewFaces'],
  ];
  for (const [verb, path, method] of cases) assert.equal(nameOf(matchRoute(routes, verb, path)), method, `${verb} ${path}`);
  assert.equal(rules.length, cases.length, 'no rule left untested');
});
