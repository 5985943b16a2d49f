namespace ActorSync.Actors;

/// <summary>What a supervisor does with an actor whose handler (or start-up) threw.</summary>
public enum Directive
{
    /// <summary>Keep the instance and its state; the failed message is dropped.</summary>
    Resume,

    /// <summary>Replace the instance with a fresh one from the factory; the mailbox is kept.</summary>
    Restart,

    /// <summary>Stop the actor; its Completion faults with the failure.</summary>
    Stop,

    /// <summary>Stop the actor and fail its parent with the same exception.</summary>
    Escalate,
}
