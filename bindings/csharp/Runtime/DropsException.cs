// The exceptions of the C# layer: one type carrying what the native td_error says (the code,
// the HTTP status, Twitch's own message), and a subtype for input refused before anything was
// sent, naming the field. Messages come from the native library, which never puts tokens or
// secrets in them.
using System;
using TwitchDrops.Native;

namespace TwitchDrops
{
    /// <summary>Why a call failed: the native library's <c>td_result</c>, with .NET names.</summary>
    public enum DropsErrorCode : uint
    {
        /// <summary>A required argument was missing.</summary>
        NullPointer = (uint)td_result.TD_NULL_POINTER,
        /// <summary>Text was not valid UTF-8.</summary>
        InvalidUtf8 = (uint)td_result.TD_INVALID_UTF8,
        /// <summary>An argument was refused before anything was sent (see <see cref="DropsInvalidInputException"/>).</summary>
        InvalidInput = (uint)td_result.TD_INVALID_INPUT,
        /// <summary>An internal buffer was too small (a bug in this layer).</summary>
        BufferTooSmall = (uint)td_result.TD_BUFFER_TOO_SMALL,
        /// <summary>An index was past the end of a list.</summary>
        IndexOutOfRange = (uint)td_result.TD_INDEX_OUT_OF_RANGE,
        /// <summary>The call does not fit the handle's state.</summary>
        WrongState = (uint)td_result.TD_WRONG_STATE,
        /// <summary>The value asked for does not exist.</summary>
        NotAvailable = (uint)td_result.TD_NOT_AVAILABLE,
        /// <summary>A bug inside the native library was caught at its boundary.</summary>
        Panic = (uint)td_result.TD_PANIC,
        /// <summary>Twitch refused the credentials even after a fresh token.</summary>
        Unauthorized = (uint)td_result.TD_UNAUTHORIZED,
        /// <summary>Twitch answered an error status (<see cref="DropsException.HttpStatus"/>).</summary>
        Http = (uint)td_result.TD_HTTP,
        /// <summary>Still rate limited after the allowed waits (<see cref="DropsException.RateLimitResetAt"/>).</summary>
        RateLimited = (uint)td_result.TD_RATE_LIMITED,
        /// <summary>No whole response could be had, after the retries.</summary>
        Transport = (uint)td_result.TD_TRANSPORT,
        /// <summary>A success response whose body could not be read.</summary>
        Decode = (uint)td_result.TD_DECODE,
        /// <summary>An update stopped part way (<see cref="DropsException.PartialUpdate"/>).</summary>
        PartialUpdate = (uint)td_result.TD_PARTIAL_UPDATE,
        /// <summary>The fulfillment journal could not be read or written: the run stopped.</summary>
        Journal = (uint)td_result.TD_JOURNAL,
        /// <summary>An EventSub message whose signature is not the subscription secret's (answer 403).</summary>
        EventSubBadSignature = (uint)td_result.TD_EVENTSUB_BAD_SIGNATURE,
        /// <summary>An EventSub message too old or from the future (answer 403).</summary>
        EventSubStale = (uint)td_result.TD_EVENTSUB_STALE,
        /// <summary>An EventSub message missing headers or with a body not of its type (answer 400).</summary>
        EventSubMalformed = (uint)td_result.TD_EVENTSUB_MALFORMED,
    }

    /// <summary>A call to Twitch (or the native library) failed.</summary>
    public class DropsException : Exception
    {
        internal DropsException(DropsErrorCode code, string message, int httpStatus, string twitchMessage)
            : base(message)
        {
            Code = code;
            HttpStatus = httpStatus;
            TwitchMessage = twitchMessage ?? "";
        }

        /// <summary>What kind of failure.</summary>
        public DropsErrorCode Code { get; private set; }

        /// <summary>The HTTP status Twitch answered (401, 403, 429, 500...), or 0 when the
        /// failure did not come from a response.</summary>
        public int HttpStatus { get; private set; }

        /// <summary>Twitch's own <c>message</c> field, or "" when it gave none.</summary>
        public string TwitchMessage { get; private set; }

        /// <summary>For <see cref="DropsErrorCode.RateLimited"/>: when the bucket refills, if Twitch said.</summary>
        public DateTimeOffset? RateLimitResetAt { get; internal set; }

        /// <summary>For <see cref="DropsErrorCode.Transport"/>: how far the last request got
        /// (null otherwise).</summary>
        public TransportErrorKind? TransportKind { get; internal set; }

        /// <summary>For <see cref="DropsErrorCode.PartialUpdate"/>: the outcomes known and the ids
        /// left unconfirmed (re-read those before retrying).</summary>
        public UpdateReport PartialUpdate { get; internal set; }

        /// <summary>For a fulfillment run that stopped early: what it did before it stopped.</summary>
        public FulfillReport FulfillReport { get; internal set; }
    }

    /// <summary>An argument was refused before anything was sent to Twitch; <see cref="Field"/>
    /// names it (<c>first</c>, <c>ids</c>, <c>game_id</c>, <c>helix_url</c>...).</summary>
    public sealed class DropsInvalidInputException : DropsException
    {
        internal DropsInvalidInputException(string message, string field)
            : base(DropsErrorCode.InvalidInput, message, 0, "")
        {
            Field = field ?? "";
        }

        /// <summary>The argument or field that was wrong, as the native library names it.</summary>
        public string Field { get; private set; }
    }
}
