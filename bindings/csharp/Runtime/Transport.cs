// Bring-your-own HTTP: every request the native core builds (tokens, pages, updates,
// downloads) can be performed by the studio's own stack (a console SDK's, HttpClient behind a
// proxy, a test double) through DropsClientConfig.Transport. The core keeps every rule
// (retries, rate limits, token renewal, re-reading a PATCH whose answer was lost); the
// transport only moves bytes.
using System;
using System.Collections.Generic;

namespace TwitchDrops
{
    /// <summary>A fully formed request for a <see cref="DropsClientConfig.Transport"/> to send as
    /// is: absolute URL, every header, optional body. Do not follow redirects. The headers hold
    /// credentials (<c>Authorization</c>) and a token request's body holds the client secret: do
    /// not log them (<see cref="ToString"/> shows neither).</summary>
    public sealed class DropsHttpRequest
    {
        private static readonly byte[] NoBody = new byte[0];

        internal DropsHttpRequest(string method, string url, IReadOnlyList<KeyValuePair<string, string>> headers, byte[] body)
        {
            Method = method;
            Url = url;
            Headers = headers;
            Body = body ?? NoBody;
        }

        /// <summary><c>GET</c>, <c>POST</c> or <c>PATCH</c>.</summary>
        public string Method { get; private set; }

        /// <summary>The absolute URL, query included.</summary>
        public string Url { get; private set; }

        /// <summary>Every header to send, in order.</summary>
        public IReadOnlyList<KeyValuePair<string, string>> Headers { get; private set; }

        /// <summary>The body (empty when there is none).</summary>
        public byte[] Body { get; private set; }

        /// <summary>The first value of header <paramref name="name"/> (any case), or null.</summary>
        public string Header(string name)
        {
            foreach (var header in Headers)
            {
                if (string.Equals(header.Key, name, StringComparison.OrdinalIgnoreCase))
                {
                    return header.Value;
                }
            }
            return null;
        }

        /// <summary>The method and URL; header values and the body are left out (credentials).</summary>
        public override string ToString()
        {
            return Method + " " + Url + " (" + Headers.Count + " headers, " + Body.Length + " body bytes)";
        }
    }

    /// <summary>What came back for a <see cref="DropsHttpRequest"/>: any status (4xx and 5xx
    /// are answers too: the core decides what they mean), the headers (it reads
    /// <c>Ratelimit-*</c>, <c>Retry-After</c>, <c>Content-Type</c> and <c>Location</c>) and the
    /// body.</summary>
    public sealed class DropsHttpResponse
    {
        /// <summary>A response with <paramref name="status"/> (100-999), no headers, an empty body.</summary>
        public DropsHttpResponse(int status)
        {
            Status = status;
            Headers = new List<KeyValuePair<string, string>>();
            Body = new byte[0];
        }

        /// <summary>The HTTP status (100-999).</summary>
        public int Status { get; set; }

        /// <summary>The response headers; repeated names are kept.</summary>
        public List<KeyValuePair<string, string>> Headers { get; private set; }

        /// <summary>The body; null is read as empty.</summary>
        public byte[] Body { get; set; }

        /// <summary>Adds a header and returns this response.</summary>
        public DropsHttpResponse WithHeader(string name, string value)
        {
            Headers.Add(new KeyValuePair<string, string>(name, value));
            return this;
        }
    }

    /// <summary>Why a transport got no whole response; it decides what the core may resend.</summary>
    public enum TransportErrorKind : uint
    {
        /// <summary>The request never reached the server (name lookup, refused connection, TLS
        /// set-up, connect timeout): safe to resend anything.</summary>
        Connect = 1,
        /// <summary>The request may have reached the server but no whole response came back
        /// (reset, closed, cut short, read timeout). An update is re-read, not blindly resent.</summary>
        Interrupted = 2,
        /// <summary>Refused before sending (a URL this transport cannot handle): resending will not help.</summary>
        Refused = 3,
        /// <summary>The response body was larger than the transport accepts.</summary>
        TooLarge = 4,
    }

    /// <summary>Thrown by a <see cref="DropsClientConfig.Transport"/> that got no whole response,
    /// saying how far the request got. Any other exception a transport throws counts as
    /// <see cref="TransportErrorKind.Interrupted"/> (it may have reached the server).</summary>
    public sealed class DropsTransportException : Exception
    {
        /// <summary>A failure of <paramref name="kind"/>; <paramref name="message"/> is for people
        /// (no credentials in it).</summary>
        public DropsTransportException(TransportErrorKind kind, string message, Exception inner = null)
            : base(message, inner)
        {
            Kind = kind;
        }

        /// <summary>How far the request got.</summary>
        public TransportErrorKind Kind { get; private set; }
    }
}
