// Kotlin Multiplatform packaging of the Florence-2 SDK: `androidTarget()` and `jvm()`.
//
// UniFFI's Kotlin uses JNA, which exists on the JVM and on Android but not in Kotlin/Native or
// common code, so the generated bindings and the Flow façade are compiled into both JVM-based
// targets from the same source folders (nothing is copied). Apps depend on
// ai.florence2:florence2-kmp from commonMain of their own JVM/Android modules.
//
// Native libraries:
//  - android: libflorence2_sdk.so per ABI from scripts/build-android.sh (build/rustJniLibs of
//    bindings/android, or -Pflorence2.jniLibsDir), ONNX Runtime from onnxruntime-android.
//  - jvm: the desktop libflorence2_sdk.so/.dylib/.dll and libonnxruntime are found at run time
//    (`-Djna.library.path=...`, ORT_DYLIB_PATH or Florence2Options.onnxRuntimePath); see
//    bindings/README.md.
import org.jetbrains.kotlin.gradle.dsl.JvmTarget

plugins {
    alias(libs.plugins.kotlin.multiplatform)
    alias(libs.plugins.android.library)
    `maven-publish`
}

val generatedKotlinDir: String =
    (findProperty("florence2.generatedKotlinDir") as String?) ?: "../kotlin/generated"
val rustJniLibsDir: String =
    (findProperty("florence2.jniLibsDir") as String?) ?: "../android/build/rustJniLibs"
val sharedKotlin = listOf(generatedKotlinDir, "../kotlin/src")

kotlin {
    // Java 17 bytecode from whichever JDK >= 17 runs Gradle (Android Studio bundles JDK 21):
    // jvmToolchain(17) would require an installed JDK 17 and fails without a toolchain resolver.
    androidTarget {
        publishLibraryVariants("release")
        compilerOptions {
            jvmTarget.set(JvmTarget.JVM_17)
        }
    }
    jvm {
        compilerOptions {
            jvmTarget.set(JvmTarget.JVM_17)
        }
    }

    sourceSets {
        androidMain {
            kotlin.srcDirs(sharedKotlin)
            dependencies {
                api(libs.onnxruntime.android)
                implementation("${libs.jna.get().module}:${libs.versions.jna.get()}@aar")
                api(libs.kotlinx.coroutines.android)
            }
        }
        jvmMain {
            kotlin.srcDirs(sharedKotlin)
            dependencies {
                implementation(libs.jna)
                api(libs.kotlinx.coroutines.core)
            }
        }
    }
}

android {
    namespace = "ai.florence2"
    compileSdk = libs.versions.androidCompileSdk.get().toInt()
    defaultConfig {
        minSdk = libs.versions.androidMinSdk.get().toInt()
        consumerProguardFiles("../android/consumer-rules.pro")
    }
    sourceSets {
        getByName("main") {
            jniLibs.srcDirs(rustJniLibsDir)
        }
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
}
