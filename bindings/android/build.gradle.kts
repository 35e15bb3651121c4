// florence2-android: the Kotlin API (UniFFI-generated + hand-written façade) with the Rust library
// for every Android ABI, published as ai.florence2:florence2-android (an AAR).
//
// Built by scripts/build-android.sh, which first puts libflorence2_sdk.so per ABI into
// build/rustJniLibs/<abi>/ (cargo-ndk) and the Kotlin generated from that library into
// build/generated/uniffi/. Run directly (`gradle assembleRelease`) it uses the committed bindings in
// bindings/kotlin/generated and whatever build/rustJniLibs holds, and refuses to package an AAR
// without native libraries.
import org.jetbrains.kotlin.gradle.dsl.JvmTarget

plugins {
    alias(libs.plugins.android.library)
    alias(libs.plugins.kotlin.android)
    `maven-publish`
}

// Overridable with -Pflorence2.generatedKotlinDir=... / -Pflorence2.jniLibsDir=...
val generatedKotlinDir: String =
    (findProperty("florence2.generatedKotlinDir") as String?) ?: "../kotlin/generated"
val rustJniLibsDir: String =
    (findProperty("florence2.jniLibsDir") as String?) ?: layout.buildDirectory.dir("rustJniLibs").get().asFile.path
val abis = listOf("arm64-v8a", "armeabi-v7a", "x86_64", "x86")

android {
    namespace = "ai.florence2"
    compileSdk = libs.versions.androidCompileSdk.get().toInt()

    defaultConfig {
        minSdk = libs.versions.androidMinSdk.get().toInt()
        consumerProguardFiles("consumer-rules.pro")
        ndk {
            abiFilters += abis
        }
    }

    buildTypes {
        release {
            // A library is minified by the app that uses it (consumer-rules.pro travels with the AAR).
            isMinifyEnabled = false
        }
    }

    sourceSets {
        getByName("main") {
            // The generated bindings (package ai.florence2) and the hand-written façade
            // (Flow streaming), shared with the desktop JVM tests and bindings/kmp.
            kotlin.srcDirs(generatedKotlinDir, "../kotlin/src")
            jniLibs.srcDirs(rustJniLibsDir)
        }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    packaging {
        jniLibs {
            // Uncompressed, page-aligned .so files in the APK: loaded straight from it (AGP
            // aligns them to 16 KB).
            useLegacyPackaging = false
        }
    }

    publishing {
        singleVariant("release") {
            withSourcesJar()
        }
    }
}

kotlin {
    // Java 17 bytecode from whichever JDK >= 17 runs Gradle (Android Studio bundles JDK 21):
    // jvmToolchain(17) would require an installed JDK 17 and fails without a toolchain resolver.
    compilerOptions {
        jvmTarget.set(JvmTarget.JVM_17)
    }
}

dependencies {
    // ONNX Runtime's libonnxruntime.so for every ABI; the Rust code opens it at run time
    // (ort load-dynamic). Its Java API is not used, but comes along.
    api(libs.onnxruntime.android)
    // JNA with libjnidispatch.so per ABI: the AAR variant, not the desktop jar. JNA >= 5.17.0:
    // older libjnidispatch.so files are not 16 KB-aligned and fail to load on 16 KB-page devices.
    implementation("${libs.jna.get().module}:${libs.versions.jna.get()}@aar")
    // suspend functions and the Flow façade.
    api(libs.kotlinx.coroutines.android)
}

// No AAR without the Rust library: fail early with the command that builds it.
val checkRustJniLibs by tasks.registering {
    val dir = file(rustJniLibsDir)
    doLast {
        val found = abis.filter { File(dir, "$it/libflorence2_sdk.so").isFile }
        if (found.isEmpty()) {
            throw GradleException(
                "no libflorence2_sdk.so under $dir/<abi>/: run scripts/build-android.sh " +
                    "(needs ANDROID_NDK_HOME and cargo-ndk), or pass -Pflorence2.jniLibsDir=<dir>"
            )
        }
        val missing = abis - found.toSet()
        if (missing.isNotEmpty()) logger.warn("florence2: no libflorence2_sdk.so for $missing; the AAR will not run there")
    }
}
tasks.named("preBuild") { dependsOn(checkRustJniLibs) }

// `gradle publishToMavenLocal` (or a repository the app's build adds) publishes
// ai.florence2:florence2-android:<version> with its ONNX Runtime, JNA and coroutines dependencies.
afterEvaluate {
    publishing {
        publications {
            create<MavenPublication>("release") {
                groupId = "ai.florence2"
                artifactId = "florence2-android"
                version = project.version.toString()
                from(components["release"])
            }
        }
    }
}
