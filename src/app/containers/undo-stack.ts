/**
 * Rollback for multi-step use cases: each step that made something pushes how
 * to unmake it; on failure the steps are undone in reverse, best effort.
 */
import { ErrorList } from '../../domain/errors.ts';

export class UndoStack {
  private readonly steps: (() => Promise<unknown>)[] = [];

  push(step: () => Promise<unknown>): void {
    this.steps.push(step);
  }

  /** Forgets every step: what was made is kept. */
  commit(): void {
    this.steps.length = 0;
  }

  /** Undoes everything; failures are collected and returned, never thrown. */
  async rollback(): Promise<ErrorList> {
    const errors = new ErrorList();
    for (const step of this.steps.splice(0).reverse()) await errors.attempt(step);
    return errors;
  }

  /** Runs `fn`; if it throws, rolls back and rethrows the original error. */
  async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      await this.rollback();
      throw err;
    }
  }
}
