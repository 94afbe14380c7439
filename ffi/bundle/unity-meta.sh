#!/usr/bin/env bash
# Writes a Unity .meta beside every file and folder of a package folder (Samples~ and other
# folders ending in ~ are not assets and are skipped), as Unity requires of a read-only
# package. GUIDs are the MD5 of the package name and path, stable from build to build. Native
# plugins under Plugins/<platform>/ get importer settings for that platform and CPU only.
#   ffi/bundle/unity-meta.sh PACKAGE_DIR
set -euo pipefail
package="$1"
name="$(sed -n 's/^ *"name": *"\(.*\)".*/\1/p' "$package/package.json" | head -1)"

guid() { printf '%s/%s' "$name" "$1" | md5sum | cut -c1-32; }

# platformData entries: "Editor OS CPU" and "Standalone target CPU", or one other player.
plugin_platforms() {
  case "$1" in
    Plugins/Linux/x86_64/*) printf 'Editor Linux x86_64\nStandalone Linux64 x86_64\n' ;;
    Plugins/Windows/x86_64/*) printf 'Editor Windows x86_64\nStandalone Win64 x86_64\n' ;;
    Plugins/macOS/*) printf 'Editor OSX AnyCPU\nStandalone OSXUniversal AnyCPU\n' ;;
    Plugins/Android/arm64-v8a/*) printf 'Player Android ARM64\n' ;;
    Plugins/iOS/*) printf 'Player iPhone AnyCPU\n' ;;
  esac
}

plugin_meta() {
  local path="$1"
  cat <<META
fileFormatVersion: 2
guid: $(guid "$path")
PluginImporter:
  externalObjects: {}
  serializedVersion: 2
  iconMap: {}
  executionOrder: {}
  defineConstraints: []
  isPreloaded: 0
  isOverridable: 0
  isExplicitlyReferenced: 0
  validateReferences: 1
  platformData:
  - first:
      Any:
    second:
      enabled: 0
      settings: {}
META
  plugin_platforms "$path" | while read -r kind target cpu; do
    case "$kind" in
      Editor)
        printf '  - first:\n      Editor: Editor\n    second:\n      enabled: 1\n      settings:\n'
        printf '        CPU: %s\n        DefaultValueInitialized: true\n        OS: %s\n' "$cpu" "$target"
        ;;
      Standalone)
        printf '  - first:\n      Standalone: %s\n    second:\n      enabled: 1\n      settings:\n' "$target"
        printf '        CPU: %s\n' "$cpu"
        ;;
      Player)
        printf '  - first:\n      %s: %s\n    second:\n      enabled: 1\n      settings:\n' "$target" "$target"
        printf '        CPU: %s\n' "$cpu"
        ;;
    esac
  done
  printf '  userData:\n  assetBundleName:\n  assetBundleVariant:\n'
}

cd "$package"
find . -mindepth 1 \( -name '*~' -prune \) -o \( ! -name '*.meta' -print \) | sed 's|^\./||' | sort |
  while read -r path; do
    if [ -d "$path" ]; then
      printf 'fileFormatVersion: 2\nguid: %s\nfolderAsset: yes\nDefaultImporter:\n  externalObjects: {}\n  userData:\n  assetBundleName:\n  assetBundleVariant:\n' \
        "$(guid "$path")" >"$path.meta"
    elif [[ "$path" == Plugins/* ]]; then
      plugin_meta "$path" >"$path.meta"
    else
      printf 'fileFormatVersion: 2\nguid: %s\n' "$(guid "$path")" >"$path.meta"
    fi
  done
