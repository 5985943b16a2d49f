using ActorSync.Engine;
using Akka.Actor;

namespace ActorSync.Engine;

/// <summary>
/// Props made from a plain factory. ActorProps.Of(() => new X(a, b)) compiles each argument's expression tree at run
/// time (Reflection.Emit, then a full JIT of the emitted method): ~60 of them per process on a transfer's start,
/// measured in a 1-file transfer with DOTNET_JitDisasmSummary. A closure is compiled ahead of time with the rest
/// (ReadyToRun). The factory runs again on each restart, as Props.Create's would; its captured values are fixed
/// when the Props are made. Local only: a closure cannot be deployed remotely (none of these actors is).
/// </summary>
internal static class ActorProps
{
    public static Props Of<TActor>(Func<TActor> factory) where TActor : ActorBase => Props.CreateBy(new Producer<TActor>(factory));

    private sealed class Producer<TActor>(Func<TActor> factory) : IIndirectActorProducer where TActor : ActorBase
    {
        public Type ActorType => typeof(TActor);

        public ActorBase Produce() => factory();

        public void Release(ActorBase actor) { }
    }
}
