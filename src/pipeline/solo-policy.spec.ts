import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SoloPolicy } from './solo-policy.js';

const alone = { running: 0, waiting: 1 };
const shared = { running: 1, waiting: 1 };

describe('SoloPolicy', () => {
  it('lets a run that has the pool to itself go wide', () => {
    const policy = new SoloPolicy(200);
    assert.equal(policy.decide(alone, 0), true);
    assert.equal(policy.decide(alone, 5), true);
  });

  it('keeps runs narrow while another runs or waits', () => {
    const policy = new SoloPolicy(200);
    assert.equal(policy.decide(shared, 0), false);
    assert.equal(policy.decide({ running: 0, waiting: 2 }, 0), false);
  });

  it('stays narrow for the quiet period after the pool was last shared, then widens again', () => {
    const policy = new SoloPolicy(200);
    policy.decide(shared, 1000);
    assert.equal(policy.decide(alone, 1001), false);
    assert.equal(policy.decide(alone, 1199), false);
    assert.equal(policy.decide(alone, 1200), true);
  });
});
