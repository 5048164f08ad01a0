import { describe } from 'node:test';
import assert from 'node:assert/strict';
import type { StoreTest } from './fixtures.ts';

/** Signals said on a store reach its listeners (other processes are tested per adapter). */
export function signalContract(it: StoreTest): void {
  describe('signals', () => {
    it('signals.notify, signals.on: a listener hears its signal at once, once per notify, and not the other signal', async (store) => {
      const heard: string[] = [];
      store.signals.on('events', () => heard.push('events'));
      store.signals.on('changes', () => heard.push('changes'));
      store.signals.notify('events');
      store.signals.notify('events');
      store.signals.notify('changes');
      assert.deepEqual(heard, ['events', 'events', 'changes']);
      await store.signals.close();
    });

    it('signals.announced: a write the store announced itself reaches this process\'s listeners at once', async (store) => {
      const heard: string[] = [];
      store.signals.on('events', () => heard.push('events'));
      store.signals.on('changes', () => heard.push('changes'));
      store.signals.announced('changes');
      store.signals.announced('events');
      assert.deepEqual(heard, ['changes', 'events']);
      await store.signals.close();
    });

    it('signals.on: after unsubscribing a listener hears nothing; one that throws does not stop the others', async (store) => {
      const heard: string[] = [];
      const off = store.signals.on('events', () => heard.push('a'));
      store.signals.on('events', () => {
        throw new Error('listener failed');
      });
      store.signals.on('events', () => heard.push('c'));
      store.signals.notify('events');
      off();
      store.signals.notify('events');
      assert.deepEqual(heard, ['a', 'c', 'c']);
      await store.signals.close();
    });

    it('signals.close: resolves, and a notify after it still reaches this process', async (store) => {
      let heard = 0;
      store.signals.on('changes', () => heard++);
      await store.signals.close();
      store.signals.notify('changes');
      assert.equal(heard, 1);
    });
  });
}
