// What the step API (DropsOperation, FulfillRun) asks its host to do — send a request, wait —
// done without ever blocking the calling thread: requests go to the host's DropsHttpSender
// (a Task), waits are deadlines, and each Update() feeds back whatever finished since.
using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using TwitchDrops.Native;

namespace TwitchDrops
{
    /// <summary>Sends one request with your HTTP stack, asynchronously (UnityWebRequest,
    /// HttpClient, a console SDK): start it and return at once, never blocking the caller
    /// (e.g. <c>Task.Run</c> around a blocking client). Resolve with any status (4xx and 5xx
    /// are answers); fail with <see cref="DropsTransportException"/> when no whole response
    /// came back (another exception counts as <see cref="TransportErrorKind.Interrupted"/>).
    /// Do not follow redirects, do not log the headers. <paramref name="cancellation"/> is
    /// cancelled when the operation or run is disposed.</summary>
    public delegate Task<DropsHttpResponse> DropsHttpSender(DropsHttpRequest request, CancellationToken cancellation);

    /// <summary>Milliseconds since the Unix epoch, as the native step API takes them.</summary>
    internal static class Clock
    {
        internal static ulong NowMs()
        {
            return (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        }

        internal static ulong Ms(DateTimeOffset? now)
        {
            if (!now.HasValue) return NowMs();
            var ms = now.Value.ToUnixTimeMilliseconds();
            if (ms < 0) throw new ArgumentOutOfRangeException("now", "before the Unix epoch");
            return (ulong)ms;
        }
    }

    /// <summary>A response's headers as pinned native <c>td_header</c>s, for one call.</summary>
    internal sealed unsafe class NativeHeaders : IDisposable
    {
        private readonly GCHandle[] pins;
        internal readonly td_header[] Items;

        internal NativeHeaders(IReadOnlyList<KeyValuePair<string, string>> headers, string what)
        {
            Items = new td_header[headers.Count];
            pins = new GCHandle[headers.Count * 2];
            try
            {
                for (var i = 0; i < headers.Count; i++)
                {
                    Items[i].name = Pin(2 * i, Utf8.Z(headers[i].Key ?? "", what + "[" + i + "].Key"));
                    Items[i].value = Pin(2 * i + 1, Utf8.Z(headers[i].Value ?? "", what + "[" + i + "].Value"));
                }
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        private td_str Pin(int slot, byte[] text)
        {
            pins[slot] = GCHandle.Alloc(text, GCHandleType.Pinned);
            return new td_str { ptr = (byte*)pins[slot].AddrOfPinnedObject(), len = (UIntPtr)(text.Length - 1) };
        }

        public void Dispose()
        {
            foreach (var pin in pins)
            {
                if (pin.IsAllocated) pin.Free();
            }
        }
    }

    /// <summary>Strings as a pinned array of NUL-terminated UTF-8 pointers, for one call.</summary>
    internal sealed unsafe class NativeStrings : IDisposable
    {
        private readonly GCHandle[] pins;
        private GCHandle arrayPin;

        internal NativeStrings(IEnumerable<string> items, string what)
        {
            var texts = new List<byte[]>();
            var i = 0;
            foreach (var item in items)
            {
                texts.Add(Utf8.Z(item, what + "[" + i++ + "]"));
            }
            pins = new GCHandle[texts.Count];
            var pointers = new IntPtr[texts.Count];
            for (var j = 0; j < texts.Count; j++)
            {
                pins[j] = GCHandle.Alloc(texts[j], GCHandleType.Pinned);
                pointers[j] = pins[j].AddrOfPinnedObject();
            }
            arrayPin = GCHandle.Alloc(pointers, GCHandleType.Pinned);
            Count = texts.Count;
        }

        internal int Count { get; private set; }

        /// <summary>The first pointer (a <c>const char *const *</c>).</summary>
        internal IntPtr Array { get { return arrayPin.AddrOfPinnedObject(); } }

        public void Dispose()
        {
            foreach (var pin in pins)
            {
                if (pin.IsAllocated) pin.Free();
            }
            if (arrayPin.IsAllocated) arrayPin.Free();
        }
    }

    /// <summary>The sends and waits a host has out, fed back as they finish.</summary>
    internal sealed class HostWork
    {
        private sealed class Send
        {
            internal ulong Ticket;
            internal Task<DropsHttpResponse> Task;
        }

        private sealed class Sleep
        {
            internal ulong Ticket;
            internal ulong Until;
        }

        private sealed class Granting
        {
            internal ulong Ticket;
            internal Task<GrantOutcome> Task;
        }

        private readonly List<Send> sends = new List<Send>();
        private readonly List<Granting> grants = new List<Granting>();
        private readonly List<Sleep> sleeps = new List<Sleep>();
        private readonly CancellationTokenSource cancel = new CancellationTokenSource();

        internal int Count { get { return sends.Count + sleeps.Count + grants.Count; } }

        internal void StartGrant(ulong ticket, Func<GrantRequest, Task<GrantOutcome>> grant, GrantRequest request)
        {
            Task<GrantOutcome> task;
            try
            {
                task = grant(request);
                if (task == null) throw new InvalidOperationException("the grant function returned no Task (null)");
            }
            catch (Exception exception)
            {
                var failed = new TaskCompletionSource<GrantOutcome>();
                failed.SetException(exception);
                task = failed.Task;
            }
            grants.Add(new Granting { Ticket = ticket, Task = task });
        }

        /// <summary>Hands every finished grant to <paramref name="granted"/>.</summary>
        internal void FinishGrants(Action<ulong, Task<GrantOutcome>> granted)
        {
            for (var i = 0; i < grants.Count;)
            {
                if (!grants[i].Task.IsCompleted)
                {
                    i++;
                    continue;
                }
                var grant = grants[i];
                grants.RemoveAt(i);
                granted(grant.Ticket, grant.Task);
            }
        }

        internal void StartSend(ulong ticket, DropsHttpSender sender, DropsHttpRequest request)
        {
            Task<DropsHttpResponse> task;
            try
            {
                task = sender(request, cancel.Token);
                if (task == null) throw new InvalidOperationException("the sender returned no Task (null)");
            }
            catch (Exception exception)
            {
                var failed = new TaskCompletionSource<DropsHttpResponse>();
                failed.SetException(exception);
                task = failed.Task;
            }
            sends.Add(new Send { Ticket = ticket, Task = task });
        }

        internal void StartSleep(ulong ticket, ulong sleepMs)
        {
            var now = Clock.NowMs();
            sleeps.Add(new Sleep { Ticket = ticket, Until = sleepMs > ulong.MaxValue - now ? ulong.MaxValue : now + sleepMs });
        }

        /// <summary>Feeds every finished send and passed wait: <paramref name="response"/>,
        /// <paramref name="failed"/> or <paramref name="slept"/> with its ticket.</summary>
        internal void Finish(Action<ulong, DropsHttpResponse> response, Action<ulong, TransportErrorKind, string> failed,
            Action<ulong> slept)
        {
            for (var i = 0; i < sends.Count;)
            {
                var send = sends[i];
                if (!send.Task.IsCompleted)
                {
                    i++;
                    continue;
                }
                sends.RemoveAt(i);
                if (send.Task.Status == TaskStatus.RanToCompletion && send.Task.Result != null)
                {
                    try
                    {
                        response(send.Ticket, send.Task.Result);
                        continue;
                    }
                    catch (ArgumentException refused)
                    {
                        // A status outside 100-999, a header with a NUL: a failed send, as
                        // for a transport (never an exception out of Update).
                        failed(send.Ticket, TransportErrorKind.Interrupted, "the sender's response was refused: " + refused.Message);
                        continue;
                    }
                    catch (DropsInvalidInputException refused)
                    {
                        failed(send.Ticket, TransportErrorKind.Interrupted, "the sender's response was refused: " + refused.Message);
                        continue;
                    }
                }
                var kind = TransportErrorKind.Interrupted;
                string why;
                if (send.Task.IsCanceled)
                {
                    why = "the send was cancelled";
                }
                else if (send.Task.Exception == null)
                {
                    why = "the sender's Task gave no response (null)";
                }
                else
                {
                    var inner = send.Task.Exception.GetBaseException();
                    var transport = inner as DropsTransportException;
                    if (transport != null) kind = transport.Kind;
                    why = transport != null ? transport.Message : "the sender threw " + inner.GetType().FullName + ": " + inner.Message;
                }
                failed(send.Ticket, kind, why);
            }
            var now = Clock.NowMs();
            for (var i = 0; i < sleeps.Count;)
            {
                if (sleeps[i].Until > now)
                {
                    i++;
                    continue;
                }
                var ticket = sleeps[i].Ticket;
                sleeps.RemoveAt(i);
                slept(ticket);
            }
        }

        /// <summary>A task that completes when something out may have finished (for async drivers).</summary>
        internal Task Any(CancellationToken cancellation, Task also = null)
        {
            var waits = new List<Task>();
            if (also != null) waits.Add(also);
            foreach (var send in sends) waits.Add(send.Task);
            foreach (var grant in grants) waits.Add(grant.Task);
            var now = Clock.NowMs();
            ulong soonest = ulong.MaxValue;
            foreach (var sleep in sleeps) soonest = Math.Min(soonest, sleep.Until);
            if (soonest != ulong.MaxValue)
            {
                waits.Add(Task.Delay(TimeSpan.FromMilliseconds(soonest > now ? Math.Min(soonest - now, int.MaxValue) : 0), cancellation));
            }
            if (waits.Count == 0) return Task.Delay(1, cancellation);
            return Task.WhenAny(waits);
        }

        /// <summary>Cancels what is out (the owner is being disposed).</summary>
        internal void Cancel()
        {
            try
            {
                cancel.Cancel();
            }
            catch (AggregateException)
            {
                // A sender's cancellation callback threw: nothing to do on disposal.
            }
            sends.Clear();
            sleeps.Clear();
            grants.Clear();
        }
    }
}
