// Bodies of the collector's HTTP API. Generated from its OpenAPI document
// (console/openapi.json, exported by `spyglass schema`) by `npm run gen:types`, so the
// console reads exactly the fields the server declares.
import type { components } from "./api.gen";

type Schemas = components["schemas"];

export type TraceSummary = Schemas["TraceSummary"];
export type TraceList = Schemas["TraceList"];
export type Span = Schemas["Span"];
export type TraceDetail = Schemas["TraceDetail"];
export type Feedback = Schemas["Feedback"];
export type FeedbackList = Schemas["FeedbackList"];
export type FeedbackIn = Schemas["FeedbackIn"];
export type Stats = Schemas["Stats"];
export type StatsSeries = Schemas["Series"];
export type Point = Schemas["Point"];
export type TimedPoint = Schemas["TimedPoint"];
export type GuardrailStats = Schemas["GuardrailStats"];
export type GuardrailTotal = Schemas["GuardrailTotal"];
export type ScoreStats = Schemas["ScoreStats"];
export type Project = Schemas["Project"];
export type Projects = Schemas["Projects"];
export type Values = Schemas["Values"];
// Sessions (GET /api/sessions...) and the Monitoring view's time to first token.
export type SessionSummary = Schemas["SessionSummary"];
export type SessionList = Schemas["SessionList"];
export type SessionTurn = Schemas["SessionTurn"];
export type SessionDetail = Schemas["SessionDetail"];
export type TtftStats = Schemas["TtftStats"];

export const OP_KINDS = ["llm", "retrieval", "embedding", "rerank", "tool", "agent", "chain", "guardrail", "evaluator"];
export const STATUSES = ["ok", "error", "unset"];
export type AlertRule = Schemas["AlertRule"];
export type AlertRuleIn = Schemas["AlertRuleIn"];
export type AlertList = Schemas["AlertList"];
export type AlertEvent = Schemas["AlertEvent"];
export type AlertHistory = Schemas["AlertHistory"];
export type MonitorIn = Schemas["MonitorIn"];
export type MonitorOut = Schemas["MonitorOut"];
export type MonitorList = Schemas["MonitorList"];
export type MonitorStatus = Schemas["MonitorStatus"];
