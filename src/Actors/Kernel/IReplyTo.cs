namespace ActorSync.Actors;

/// <summary>The reply channel an ask message carries; the first Reply or Fail wins.</summary>
public interface IReplyTo<in TReply>
{
    void Reply(TReply value);

    void Fail(Exception error);
}
