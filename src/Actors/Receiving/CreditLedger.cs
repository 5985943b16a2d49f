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

    /// <summary>Messages taken from each connection and not yet granted back. A handful of connections: a list
    /// compared by reference costs less than hashing actor paths per message.</summary>
    private readonly List<(IActorRef Connection, int Owed)> _owed = [];

    public void Taken(IActorRef connection, int count = 1)
    {
        int i = _owed.FindIndex(o => ReferenceEquals(o.Connection, connection));
        int owed = (i < 0 ? 0 : _owed[i].Owed) + count;
        if (owed < _grantEvery)
        {
            if (i < 0) _owed.Add((connection, owed));
            else _owed[i] = (connection, owed);
            return;
        }
        if (i >= 0) _owed.RemoveAt(i);
        connection.Tell(new WriterCredits(slot, owed));
    }
}
