// Turns a failed native call into a DropsException, reading the td_error the call filled.
using System;

namespace TwitchDrops.Native
{
    internal static unsafe class Failures
    {
        /// <summary>Throws unless <paramref name="result"/> is TD_OK.</summary>
        internal static void Check(td_result result, ErrorHandle error)
        {
            if (result != td_result.TD_OK)
            {
                throw From(result, error);
            }
        }

        /// <summary>Throws unless a call without a td_error succeeded.</summary>
        internal static void Check(td_result result, string what)
        {
            if (result != td_result.TD_OK)
            {
                throw new DropsException((DropsErrorCode)result, what + " failed: " + Name(result), 0, "");
            }
        }

        internal static DropsException From(td_result result, ErrorHandle error)
        {
            using (var lease = error.Use())
            {
                var e = (td_error*)lease.Pointer;
                var message = Utf8.Copied((buf, len, lenOut) => NativeMethods.td_error_message(e, buf, len, lenOut));
                if (message.Length == 0)
                {
                    message = Name(result);
                }
                if (result == td_result.TD_INVALID_INPUT)
                {
                    var field = Utf8.Copied((buf, len, lenOut) => NativeMethods.td_error_field(e, buf, len, lenOut));
                    return new DropsInvalidInputException(message, field);
                }
                var twitch = Utf8.Copied((buf, len, lenOut) => NativeMethods.td_error_twitch_message(e, buf, len, lenOut));
                var exception = new DropsException(
                    (DropsErrorCode)result, message, NativeMethods.td_error_http_status(e), twitch);
                ulong resetMs;
                if (NativeMethods.td_error_rate_limit_reset(e, &resetMs) == td_result.TD_OK)
                {
                    exception.RateLimitResetAt = DateTimeOffset.FromUnixTimeMilliseconds((long)resetMs);
                }
                var kind = NativeMethods.td_error_transport_kind(e);
                if (kind != td_transport_error_kind.TD_TRANSPORT_NONE)
                {
                    exception.TransportKind = (TransportErrorKind)(uint)kind;
                }
                var update = NativeMethods.td_error_update_report(e);
                if (update != null)
                {
                    exception.PartialUpdate = UpdateReport.Copy(update);
                }
                var fulfill = NativeMethods.td_error_fulfill_report(e);
                if (fulfill != null)
                {
                    exception.FulfillReport = FulfillReport.Copy(fulfill);
                }
                return exception;
            }
        }

        private static string Name(td_result result)
        {
            return Utf8.Of(NativeMethods.td_result_name((uint)result));
        }
    }
}
