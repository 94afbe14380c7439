// EventSub `drop.entitlement.grant` webhooks for a studio's own server: check a request
// Twitch sent, answer it, and act on a notification's first delivery only, in one call
// (td_eventsub_handle). The checks, the answers and the deduplication are the core's; this
// only translates headers, bodies and times. Secrets never appear in messages or ToString.
using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using TwitchDrops.Native;

namespace TwitchDrops
{
    /// <summary>What a webhook request was.</summary>
    public enum EventSubKind
    {
        /// <summary>A <c>drop.entitlement.grant</c> notification delivered for the first time:
        /// grant <see cref="EventSubHandled.Entitlements"/> (e.g. with
        /// <see cref="DropsClient.FulfillEntitlements"/>).</summary>
        Grants = 1,
        /// <summary>A notification delivered before: answered, not to be acted on again.</summary>
        Repeated = 2,
        /// <summary>Twitch checks the callback is yours: the answer carries the challenge.</summary>
        Verification = 3,
        /// <summary>The subscription ended (<see cref="EventSubHandled.SubscriptionStatus"/> says why).</summary>
        Revocation = 4,
        /// <summary>A verified message of a kind this library does not know: answered as is.</summary>
        Other = 5,
        /// <summary>Refused: a bad signature, a stale timestamp or a malformed message
        /// (<see cref="EventSubHandled.Error"/>); answered 403 or 400.</summary>
        Refused = 6,
        /// <summary>The delivery could not be recorded (the log threw or the database failed):
        /// answered 503, so that Twitch sends it again.</summary>
        NotRecorded = 7,
    }

    /// <summary>Where delivered message ids are remembered, so a message Twitch delivers
    /// twice is acted on once: a <see cref="Deduplicator"/> (in memory), or your database
    /// (durable: a redelivery after a restart is recognized too).</summary>
    public interface IEventSubDeliveryLog
    {
        /// <summary>Records <paramref name="messageId"/> as delivered at
        /// <paramref name="nowMs"/> (milliseconds since the Unix epoch): true the first time,
        /// false when it was recorded before. Throw when it cannot be recorded (the request is
        /// answered 503 and Twitch sends it again). Called on the thread of
        /// <see cref="EventSub.Handle(IReadOnlyList{KeyValuePair{string, string}}, byte[], string, IEventSubDeliveryLog, DateTimeOffset?)"/>.</summary>
        bool FirstDelivery(string messageId, long nowMs);
    }

    /// <summary>The outcome of <see cref="EventSub.Handle(IReadOnlyList{KeyValuePair{string, string}}, byte[], string, Deduplicator, DateTimeOffset?)"/>:
    /// what the request was, and the answer to send back (always set).</summary>
    public sealed class EventSubHandled
    {
        private static readonly Entitlement[] None = new Entitlement[0];

        internal EventSubHandled()
        {
            MessageId = "";
            SubscriptionId = "";
            SubscriptionType = "";
            SubscriptionStatus = "";
            ResponseBody = "";
            ResponseContentType = "";
            Entitlements = None;
        }

        /// <summary>What it was.</summary>
        public EventSubKind Kind { get; internal set; }

        /// <summary>The HTTP status to answer with: 200 (verification), 204, 403, 400 or 503.</summary>
        public int ResponseStatus { get; internal set; }

        /// <summary>The body to answer with: the challenge, the reason of a refusal, or "".</summary>
        public string ResponseBody { get; internal set; }

        /// <summary>The <c>Content-Type</c> to answer with, "" when the body is empty.</summary>
        public string ResponseContentType { get; internal set; }

        /// <summary>The message id (the same on every delivery of one message); "" when refused.</summary>
        public string MessageId { get; internal set; }

        /// <summary>The subscription the message is about; "" when refused.</summary>
        public string SubscriptionId { get; internal set; }

        /// <summary>The subscription's type (<c>drop.entitlement.grant</c>).</summary>
        public string SubscriptionType { get; internal set; }

        /// <summary><c>enabled</c>, or for a revocation why it ended
        /// (<c>authorization_revoked</c>, <c>notification_failures_exceeded</c>...).</summary>
        public string SubscriptionStatus { get; internal set; }

        /// <summary>For <see cref="EventSubKind.Grants"/>: the entitlements to grant, CLAIMED,
        /// one per event in order (repeats included); empty otherwise.</summary>
        public IReadOnlyList<Entitlement> Entitlements { get; internal set; }

        /// <summary>For <see cref="EventSubKind.Refused"/> and <see cref="EventSubKind.NotRecorded"/>:
        /// why (no secret in it); null otherwise.</summary>
        public DropsException Error { get; internal set; }

        /// <summary>The kind, message id, answer and number of entitlements.</summary>
        public override string ToString()
        {
            return "EventSubHandled(" + Kind + ", " + MessageId + ", answer " + ResponseStatus + ", "
                + Entitlements.Count + " entitlements)";
        }
    }

    /// <summary>Message ids seen recently, in memory: an id is remembered for 20 minutes
    /// (longer than a message is accepted), at most <c>capacity</c> ids, the oldest forgotten
    /// first. Thread-safe (calls are serialized). Dispose it when done.</summary>
    public sealed class Deduplicator : IEventSubDeliveryLog, IDisposable
    {
        private readonly DeduplicatorHandle handle;

        /// <summary>A deduplicator remembering up to <paramref name="capacity"/> ids (0: 100 000).</summary>
        public unsafe Deduplicator(int capacity = 0)
        {
            if (capacity < 0) throw new ArgumentOutOfRangeException("capacity", capacity, "must be 0 or more");
            handle = new DeduplicatorHandle();
            handle.Own((IntPtr)NativeMethods.td_deduplicator_new((UIntPtr)(uint)capacity));
        }

        internal DeduplicatorHandle Handle { get { return handle; } }

        /// <summary>True the first time <paramref name="messageId"/> is seen (and remembers
        /// it), false for a repeat.</summary>
        public unsafe bool FirstTime(string messageId, DateTimeOffset? now = null)
        {
            var id = Utf8.Z(messageId, "messageId");
            lock (handle)
            using (var d = handle.Use())
            fixed (byte* p = id)
            {
                bool first;
                Failures.Check(NativeMethods.td_deduplicator_first_time(
                    (td_deduplicator*)d.Pointer, p, EventSub.Ms(now), &first), "first_time");
                return first;
            }
        }

        /// <inheritdoc/>
        public bool FirstDelivery(string messageId, long nowMs)
        {
            return FirstTime(messageId, DateTimeOffset.FromUnixTimeMilliseconds(nowMs));
        }

        /// <summary>Forgets <paramref name="messageId"/>, so its next delivery counts as a first
        /// (handling it failed: answer 5xx). True when it was remembered.</summary>
        public unsafe bool Forget(string messageId)
        {
            var id = Utf8.Z(messageId, "messageId");
            lock (handle)
            using (var d = handle.Use())
            fixed (byte* p = id)
            {
                bool forgotten;
                Failures.Check(NativeMethods.td_deduplicator_forget((td_deduplicator*)d.Pointer, p, &forgotten), "forget");
                return forgotten;
            }
        }

        /// <summary>Ids remembered now.</summary>
        public unsafe int Count
        {
            get
            {
                lock (handle)
                using (var d = handle.Use())
                {
                    return (int)(ulong)NativeMethods.td_deduplicator_len((td_deduplicator*)d.Pointer);
                }
            }
        }

        /// <summary>Frees the native deduplicator. Safe to call twice.</summary>
        public void Dispose()
        {
            handle.Dispose();
        }
    }

    /// <summary>EventSub webhooks: the whole request in one call.</summary>
    public static class EventSub
    {
        internal static ulong Ms(DateTimeOffset? now)
        {
            var ms = (now ?? DateTimeOffset.UtcNow).ToUnixTimeMilliseconds();
            if (ms < 0) throw new ArgumentOutOfRangeException("now", "before the Unix epoch");
            return (ulong)ms;
        }

        /// <summary>The whole webhook in one call, deduplicating in <paramref name="dedup"/>:
        /// checks the request (the <c>Twitch-Eventsub-*</c> headers, the HMAC-SHA256 signature
        /// of <paramref name="body"/> under <paramref name="secret"/>, a timestamp within 10
        /// minutes of <paramref name="now"/>, the body's shape), answers a verification's
        /// challenge, reports a revocation, and gives a notification's entitlements the first
        /// time its message id is seen only. Send back the answer it carries. Refused requests
        /// are <see cref="EventSubKind.Refused"/>, not exceptions; null arguments are
        /// <see cref="ArgumentNullException"/>.</summary>
        public static EventSubHandled Handle(IReadOnlyList<KeyValuePair<string, string>> headers, byte[] body,
            string secret, Deduplicator dedup, DateTimeOffset? now = null)
        {
            if (dedup == null) throw new ArgumentNullException("dedup");
            lock (dedup.Handle)
            {
                return HandleWith(headers, body, secret, dedup, null, now);
            }
        }

        /// <summary><see cref="Handle(IReadOnlyList{KeyValuePair{string, string}}, byte[], string, Deduplicator, DateTimeOffset?)"/>
        /// with the deliveries recorded in <paramref name="deliveries"/> (your database, for a
        /// deduplication that survives restarts). What it throws is caught: the request is
        /// <see cref="EventSubKind.NotRecorded"/>, answered 503.</summary>
        public static EventSubHandled Handle(IReadOnlyList<KeyValuePair<string, string>> headers, byte[] body,
            string secret, IEventSubDeliveryLog deliveries, DateTimeOffset? now = null)
        {
            if (deliveries == null) throw new ArgumentNullException("deliveries");
            var dedup = deliveries as Deduplicator;
            if (dedup != null)
            {
                return Handle(headers, body, secret, dedup, now);
            }
            return HandleWith(headers, body, secret, null, deliveries, now);
        }

        private static unsafe EventSubHandled HandleWith(IReadOnlyList<KeyValuePair<string, string>> headers, byte[] body,
            string secret, Deduplicator dedup, IEventSubDeliveryLog log, DateTimeOffset? now)
        {
            if (headers == null) throw new ArgumentNullException("headers");
            if (body == null) throw new ArgumentNullException("body");
            var secretZ = Utf8.Z(secret, "secret");
            var nowMs = Ms(now);
            var texts = new byte[headers.Count * 2][];
            for (var i = 0; i < headers.Count; i++)
            {
                texts[2 * i] = Utf8.Z(headers[i].Key ?? "", "headers[" + i + "].Key");
                texts[2 * i + 1] = Utf8.Z(headers[i].Value ?? "", "headers[" + i + "].Value");
            }
            var pins = new GCHandle[texts.Length];
            var native = new td_header[headers.Count];
            var context = log == null ? null : new DeliveryContext(log);
            var contextPin = context == null ? default(GCHandle) : GCHandle.Alloc(context);
            try
            {
                for (var i = 0; i < texts.Length; i++)
                {
                    pins[i] = GCHandle.Alloc(texts[i], GCHandleType.Pinned);
                }
                for (var i = 0; i < native.Length; i++)
                {
                    native[i].name = new td_str { ptr = (byte*)pins[2 * i].AddrOfPinnedObject(), len = (UIntPtr)(texts[2 * i].Length - 1) };
                    native[i].value = new td_str { ptr = (byte*)pins[2 * i + 1].AddrOfPinnedObject(), len = (UIntPtr)(texts[2 * i + 1].Length - 1) };
                }
                using (var error = ErrorHandle.New())
                using (var e = error.Use())
                using (var d = dedup == null ? default(Lease) : dedup.Handle.Use())
                fixed (td_header* h = native)
                fixed (byte* b = body)
                fixed (byte* s = secretZ)
                {
                    td_eventsub_message* message = null;
                    bool act;
                    var result = NativeMethods.td_eventsub_handle(h, (UIntPtr)native.Length, b, (UIntPtr)body.Length, s, nowMs,
                        dedup == null ? null : (td_deduplicator*)d.Pointer,
                        context == null ? null : Callbacks.Delivery,
                        context == null ? null : (void*)GCHandle.ToIntPtr(contextPin),
                        &message, &act, (td_error*)e.Pointer);
                    if (result != td_result.TD_OK)
                    {
                        return Failed(result, error, context);
                    }
                    // Owned by a SafeHandle: the entitlements of a notification point into the
                    // message, and keep it alive for FulfillEntitlements.
                    var owned = new EventSubMessageHandle();
                    owned.Own((IntPtr)message);
                    return Read(owned, message, act);
                }
            }
            finally
            {
                foreach (var pin in pins)
                {
                    if (pin.IsAllocated) pin.Free();
                }
                if (contextPin.IsAllocated) contextPin.Free();
            }
        }

        private static unsafe EventSubHandled Failed(td_result result, ErrorHandle error, DeliveryContext context)
        {
            var failure = Failures.From(result, error);
            ushort status;
            using (var e = error.Use())
            {
                status = NativeMethods.td_error_eventsub_status((td_error*)e.Pointer);
            }
            if (status != 0)
            {
                return new EventSubHandled
                {
                    Kind = EventSubKind.Refused,
                    ResponseStatus = status,
                    ResponseBody = failure.Message,
                    ResponseContentType = "text/plain; charset=utf-8",
                    Error = failure,
                };
            }
            if (result == td_result.TD_JOURNAL)
            {
                var why = context != null && context.Thrown != null
                    ? "the delivery log threw " + context.Thrown.GetType().FullName + ": " + context.Thrown.Message
                    : failure.Message;
                return new EventSubHandled
                {
                    Kind = EventSubKind.NotRecorded,
                    ResponseStatus = 503,
                    ResponseBody = "the delivery could not be recorded; send it again",
                    ResponseContentType = "text/plain; charset=utf-8",
                    Error = new DropsException(DropsErrorCode.Journal, why, 0, ""),
                };
            }
            throw failure;
        }

        private static unsafe EventSubHandled Read(EventSubMessageHandle owner, td_eventsub_message* message, bool act)
        {
            var handled = new EventSubHandled
            {
                MessageId = Utf8.Of(NativeMethods.td_eventsub_message_id(message)),
                SubscriptionId = Utf8.Of(NativeMethods.td_eventsub_message_subscription_id(message)),
                SubscriptionType = Utf8.Of(NativeMethods.td_eventsub_message_subscription_type(message)),
                SubscriptionStatus = Utf8.Of(NativeMethods.td_eventsub_message_subscription_status(message)),
                ResponseStatus = NativeMethods.td_eventsub_message_response_status(message),
                ResponseBody = Utf8.Of(NativeMethods.td_eventsub_message_response_body(message)),
                ResponseContentType = Utf8.Of(NativeMethods.td_eventsub_message_response_content_type(message)),
            };
            switch (NativeMethods.td_eventsub_message_type(message))
            {
                case td_eventsub_type.TD_EVENTSUB_NOTIFICATION:
                    handled.Kind = act ? EventSubKind.Grants : EventSubKind.Repeated;
                    break;
                case td_eventsub_type.TD_EVENTSUB_VERIFICATION:
                    handled.Kind = EventSubKind.Verification;
                    break;
                case td_eventsub_type.TD_EVENTSUB_REVOCATION:
                    handled.Kind = EventSubKind.Revocation;
                    break;
                default:
                    handled.Kind = EventSubKind.Other;
                    break;
            }
            if (handled.Kind == EventSubKind.Grants)
            {
                var count = (ulong)NativeMethods.td_eventsub_message_entitlement_count(message);
                var list = new List<Entitlement>((int)count);
                for (ulong i = 0; i < count; i++)
                {
                    list.Add(Entitlement.Copy(NativeMethods.td_eventsub_message_entitlement(message, (UIntPtr)i), owner));
                }
                handled.Entitlements = list;
            }
            else
            {
                owner.Dispose();
            }
            return handled;
        }
    }
}
