namespace ActorSync.Tests.Actors;

/// <summary>Thrown on purpose by test actors.</summary>
internal sealed class TestFailure(string message) : Exception(message);
