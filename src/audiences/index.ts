// The audience core's public surface: definitions in, validated and linted, compiled to an
// evaluator over compact per-profile state. Pure: no I/O, and `now` is always a parameter.
export {
  audienceSchema,
  conditionSchema,
  type AudienceDefinition,
  type AudienceDefinitionInput,
  type Condition,
  type EventMatcher,
  type PropertyFilter,
  type NumberComparison,
} from './schema.ts';
export {
  validateAudiences,
  checkReferences,
  type AudienceProblem,
  type AudiencesInvalid,
} from './validate.ts';
export { lintAudiences, type LintOptions } from './lint.ts';
export { dependencyOrder } from './graph.ts';
export {
  compileAudiences,
  type CompiledAudiences,
  type Evaluation,
  type TopPercentRanking,
} from './compile.ts';
export type { AudienceResult, EvaluationContext, Explanation } from './nodes.ts';
export type { ProfileState } from './trackers.ts';
export type { AudienceEvent } from './filters.ts';
export { isHeldOut, holdoutBucket } from './holdout.ts';
