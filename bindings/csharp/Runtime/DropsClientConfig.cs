// What a client is made from. Secrets stay out of ToString.
using System;

namespace TwitchDrops
{
    /// <summary>A client's id, credentials and endpoints. Give <see cref="ClientSecret"/> (an
    /// app token is fetched and renewed for you) or <see cref="AccessToken"/>.</summary>
    public sealed class DropsClientConfig
    {
        /// <summary>A configuration for the application <paramref name="clientId"/>.</summary>
        public DropsClientConfig(string clientId)
        {
            ClientId = clientId;
        }

        /// <summary>The application's client id.</summary>
        public string ClientId { get; private set; }

        /// <summary>The application's client secret (a credential: never logged).</summary>
        public string ClientSecret { get; set; }

        /// <summary>A token to use as is instead of a secret (a credential: never logged).</summary>
        public string AccessToken { get; set; }

        /// <summary>The Helix base URL (default <c>https://api.twitch.tv/helix</c>).</summary>
        public string HelixUrl { get; set; }

        /// <summary>The OAuth base URL (default <c>https://id.twitch.tv/oauth2</c>).</summary>
        public string AuthUrl { get; set; }

        /// <summary>The User-Agent header, if not the library's.</summary>
        public string UserAgent { get; set; }

        /// <summary>Your HTTP stack, if not the library's built-in HTTPS: every request the client
        /// makes (tokens, pages, updates, downloads) is handed to it, on the thread of the call,
        /// concurrently when several threads share the client. Return any status as a
        /// <see cref="DropsHttpResponse"/>; throw <see cref="DropsTransportException"/> when no
        /// whole response came back. It must not call the same client. Needed on platforms whose
        /// native library is built without the built-in transport (consoles).</summary>
        public Func<DropsHttpRequest, DropsHttpResponse> Transport { get; set; }

        /// <summary>The client id and endpoints; credentials are shown as &lt;redacted&gt;.</summary>
        public override string ToString()
        {
            return "DropsClientConfig(ClientId = " + ClientId
                + ", ClientSecret = " + (ClientSecret == null ? "none" : "<redacted>")
                + ", AccessToken = " + (AccessToken == null ? "none" : "<redacted>")
                + ", HelixUrl = " + (HelixUrl ?? "default")
                + ", AuthUrl = " + (AuthUrl ?? "default")
                + ", Transport = " + (Transport == null ? "built-in" : "custom") + ")";
        }
    }
}
