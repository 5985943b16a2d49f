using Akka.Actor;

namespace ActorSync.Receiving;

/// <summary>
/// The granting side of credit-based flow control: a connection may have <c>window</c> messages outstanding at
/// this actor (<paramref name="slot"/> in its credit table); as they are taken, the credits go back in halves.
/// While the connection has none left it stops reading, so what queues here stays under the window. Halves are
/// enough: a connection out of credits has a whole window here, so a grant is always on its way.
/// </summary>
internal sealed class CreditLedger(int window, int slot)
{
    private readonly int _grantEvery = Math.Max(1, window / 2);

    /// <summary>Messages taken from each connection and not yet granted back.</summary>
    private readonly Dictionary<IActorRef, int> _owed = [];

    public void Taken(IActorRef connection)
    {
        _owed.TryGetValue(connection, out int owed);
        if (++owed < _grantEvery)
        {
            _owed[connection] = owed;
            return;
        }
        _owed.Remove(connection);
        connection.Tell(new WriterCredits(slot, owed));
    }
}
