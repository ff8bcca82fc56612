// config → image: validate linuxkit.yml and turn it into kernel + initrd + cmdline, cached by content.
export {
  validateLinuxkitFile,
  validateLinuxkitText,
  LinuxkitConfigError,
  type ValidatedConfig,
} from './validate.ts';
export { buildImage, chooseBuilder, BUILDERS, type BuilderChoice, type BuildImageOptions } from './build.ts';
export { listImages, pruneImages, openImageDir } from './cache.ts';
export { ARCHES, hostArch, parseArch, type Arch } from './arch.ts';
export { newBootSecrets, secretsOverlay, type BootSecrets } from './secrets.ts';
export { linuxkitBuildArgv } from './linuxkit-builder.ts';
export type { BuiltImage, ImageManifest } from './manifest.ts';
export { probeDebianArchive, type ArchiveProbe } from './debian/probe-archive.ts';
export { DEFAULT_MIRRORS, mirrorsFromEnv, type DebianMirrors } from './debian/sources.ts';
