type Listener<T> = (payload: T) => void;

/** The emitting side of a bus: a part that only emits takes this, typed with the events it emits. */
export interface Emitter<M extends object> {
  emit<K extends keyof M>(name: K, payload: M[K]): void;
}

/** A small typed event bus. A listener that throws is reported, never breaks the emitter. */
export class EventBus<M extends object> implements Emitter<M> {
  private readonly listeners = new Map<keyof M, Set<Listener<never>>>();

  constructor(private readonly onListenerError: (error: unknown) => void = () => {}) {}

  on<K extends keyof M>(name: K, listener: Listener<M[K]>): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  emit<K extends keyof M>(name: K, payload: M[K]): void {
    for (const listener of this.listeners.get(name) ?? []) {
      try {
        (listener as Listener<M[K]>)(payload);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }
}
