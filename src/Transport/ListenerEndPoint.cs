using System.Net;
using System.Net.Sockets;

namespace ActorSync.Transport;

/// <summary>
/// Where a sender's streams come from when the receiver dials in (a pull over ssh: only the remote end can bind a port
/// the other reaches): "connecting" to it accepts the next connection on <see cref="Listener"/>. The handshake and
/// everything after it are the same; TCP does not care which end opened the connection.
/// </summary>
internal sealed class ListenerEndPoint(Socket listener) : EndPoint
{
    public Socket Listener { get; } = listener;

    public override AddressFamily AddressFamily => Listener.AddressFamily;

    public override string ToString() => $"connections to {Listener.LocalEndPoint}";
}
