// Kotlin Multiplatform packaging of the Florence-2 SDK: `androidTarget()` and `jvm()`.
//
// Source sets: commonMain holds a platform-neutral API (expect class Florence2Model, plain data
// types) that an app's commonMain can call. UniFFI's Kotlin uses JNA, which exists on the JVM and
// on Android but not in Kotlin/Native, so the generated bindings, the Kotlin façade and the actual
// Florence2Model live in jvmAndAndroidMain, shared by androidTarget() and jvm() from the same
// source folders (nothing is copied). There is no iOS target today: see README.md here.
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
        // commonMain: the platform-neutral API (src/commonMain: expect class Florence2Model and
        // plain data types), usable from an app's own commonMain.
        commonMain {
            dependencies {
                api(libs.kotlinx.coroutines.core)
            }
        }
        // Shared by Android and the desktop JVM: the generated bindings, the façade and the
        // actual Florence2Model (src/jvmAndAndroidMain). JNA is a compile-time dependency here;
        // each platform adds its own runtime form of it (the jar, or the AAR with the Android
        // native libraries).
        val jvmAndAndroidMain by creating {
            dependsOn(commonMain.get())
            kotlin.srcDirs(sharedKotlin)
            dependencies {
                compileOnly(libs.jna)
            }
        }
        androidMain {
            dependsOn(jvmAndAndroidMain)
            dependencies {
                api(libs.onnxruntime.android)
                implementation("${libs.jna.get().module}:${libs.versions.jna.get()}@aar")
                api(libs.kotlinx.coroutines.android)
            }
        }
        jvmMain {
            dependsOn(jvmAndAndroidMain)
            dependencies {
                implementation(libs.jna)
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
