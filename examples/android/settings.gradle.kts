// Camera sample: open this folder in Android Studio. The SDK comes from ../../bindings/android as
// a composite build (its native libraries from scripts/build-android.sh); an app outside this
// repository uses `implementation("ai.florence2:florence2-android:<version>")` instead.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
    versionCatalogs {
        create("libs") {
            from(files("../../bindings/android/gradle/libs.versions.toml"))
        }
    }
}

includeBuild("../../bindings/android") {
    dependencySubstitution {
        substitute(module("ai.florence2:florence2-android")).using(project(":"))
    }
}

rootProject.name = "florence2-camera"
include(":app")
