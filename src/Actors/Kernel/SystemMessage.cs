namespace ActorSync.Actors;

/// <summary>
/// Kernel-to-cell notification, queued apart from user messages so a full mailbox never delays supervision.
/// A struct so posting one allocates nothing beyond the queue's own segments.
/// </summary>
/// <param name="Actor">The watched actor that stopped, or the child that escalated.</param>
/// <param name="Reason">Why it stopped (null: orderly), or the escalated failure.</param>
/// <param name="IsChildFailure">True for an escalation, false for a death-watch notification.</param>
/// <param name="Incarnation">For an escalation: the parent's restart count when it was posted, so a failure from a
/// child of an instance that has since been replaced is not held against the new one.</param>
internal readonly record struct SystemMessage(IActorRef Actor, Exception? Reason, bool IsChildFailure, int Incarnation = 0);
